// Tenant export: an owner's request becomes a job (through the outbox) that writes every row of
// every registered, exported tenant table of that tenant (a module declared in this test
// included) into a tar.gz with a manifest; the status answers a signed link that expires; links
// and ids of one tenant never reach another's export; the retention job deletes the archive.

import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expireExportsJob } from '../../src/privacy/export/expire-exports-job.js';
import { bearer, expectProblem, login, signUp } from '../support/fixtures.js';
import { readArchive } from './support/read-archive.js';
import { seedPersonTenant, startPrivacyApp, type PrivacyApp, type SeededPerson } from './support/privacy-app.js';

let testApp: PrivacyApp;
let tenantA: SeededPerson;
let tenantB: SeededPerson;
let tokenA: string;
let tokenB: string;

async function signIn(person: SeededPerson): Promise<string> {
  const response = await login(testApp.app, person.email, person.password, person.tenantId);
  expect(response.statusCode).toBe(200);
  return response.json().accessToken;
}

let workerStarted = false;

/**
 * Starts the worker the first time (so no export runs while the first tests still add API-call
 * usage events that a page already read would miss), delivers the outbox (the job's enqueue) and waits, reading the row directly, for the export to
 * leave pending/running; then answers its status over HTTP. Polling through the database keeps
 * the API-call meter from adding usage events while the export reads them.
 */
async function finished(token: string, id: string): Promise<Record<string, any>> {
  if (!workerStarted) {
    await testApp.startWorker();
    workerStarted = true;
  }
  await testApp.services.outbox.drain();
  for (let i = 0; i < 600; i++) {
    const { rows } = await testApp.database.admin.query(`SELECT status FROM tenant_exports WHERE id = $1`, [id]);
    if (rows[0].status !== 'pending' && rows[0].status !== 'running') {
      const response = await testApp.app.inject({ method: 'GET', url: `/v1/tenant/exports/${id}`, headers: bearer(token) });
      expect(response.statusCode).toBe(200);
      return response.json();
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`export ${id} did not finish: ${testApp.logs().split('\n').filter((line) => /"level":(40|50)/.test(line)).slice(-5).join('\n')}`);
}

/** The tenant tables the export must cover: the catalog's, minus those declared not exported. */
async function expectedCounts(tenantId: string, finishedAt: string): Promise<Record<string, number>> {
  const exported = testApp.services.modules.tenantTableDeclarations().filter((table) => table.exported !== false);
  const counts: Record<string, number> = {};
  for (const { name } of exported) {
    // The app keeps working after the export: requests add API-call usage events, and the
    // worker's rollup adds rollup rows. Rows written after the export finished are not in it.
    const { rows: stamped } = await testApp.database.admin.query<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns WHERE table_name = $1 AND column_name IN ('created_at', 'updated_at') ORDER BY column_name`,
      [name],
    );
    const stamp = stamped[0]?.column_name;
    const before = stamp ? `AND ${stamp} <= $2` : `AND $2::timestamptz IS NOT NULL`;
    const { rows } = await testApp.database.admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${name} WHERE tenant_id = $1 ${before}`, [tenantId, finishedAt]);
    counts[name] = rows[0]!.n;
  }
  return counts;
}

let exportId: string;
let archive: Map<string, string>;
let downloadUrl: string;
let finishedAt: string;

beforeAll(async () => {
  testApp = await startPrivacyApp();
  tenantA = await seedPersonTenant(testApp.database.admin, 'ExportA');
  tenantB = await seedPersonTenant(testApp.database.admin, 'ExportB');
  // A second page of tasks for A, so keyset paging is crossed.
  await testApp.database.admin.query(
    `INSERT INTO tasks (tenant_id, id, project_id, title) SELECT $1, gen_random_uuid(), $2, 'bulk task ' || g FROM generate_series(1, 2500) g`,
    [tenantA.tenantId, tenantA.projectId],
  );
  tokenA = await signIn(tenantA);
  tokenB = await signIn(tenantB);
}, 60_000);

afterAll(async () => {
  await testApp?.close();
});

describe('POST /v1/tenant/export', () => {
  it('answers 202 with a pending export, and 409 while that export is still being written', async () => {
    const started = await testApp.app.inject({ method: 'POST', url: '/v1/tenant/export', headers: bearer(tokenA) });
    expect(started.statusCode).toBe(202);
    exportId = started.json().id;
    // The request's own API call is counted (a usage event) before the export reads usage_events.
    await testApp.services.metering.apiCalls.flush();
    expect(started.json().status).toBe('pending');
    expect(started.json().download).toBeUndefined();
    const again = await testApp.app.inject({ method: 'POST', url: '/v1/tenant/export', headers: bearer(tokenA) });
    expect(expectProblem(again, 409, 'export-in-progress').export_id).toBe(exportId);
    await testApp.services.metering.apiCalls.flush();
    // Audited once, by the owner who asked (the refused second request records nothing).
    const { rows } = await testApp.database.admin.query(`SELECT actor, target FROM audit_log WHERE tenant_id = $1 AND action = 'export.requested'`, [tenantA.tenantId]);
    expect(rows).toEqual([{ actor: `user:${tenantA.userId}`, target: `export:${exportId}` }]);
  });

  it("is refused to the owner of another tenant naming this one (403), and starts nothing", async () => {
    const stranger = await signUp(testApp.app);
    const response = await testApp.app.inject({ method: 'POST', url: '/v1/tenant/export', headers: { ...bearer(stranger.accessToken), 'x-tenant-id': tenantA.tenantId } });
    expectProblem(response, 403);
    const { rows } = await testApp.database.admin.query(`SELECT count(*)::int AS n FROM tenant_exports WHERE tenant_id = $1`, [tenantA.tenantId]);
    expect(rows[0].n).toBe(2); // the seeded one and the one started above
  });
});

describe('the finished export', () => {
  beforeAll(async () => {
    const body = await finished(tokenA, exportId);
    expect(body.status).toBe('ready');
    downloadUrl = body.download.url;
    finishedAt = body.finishedAt;
    const response = await testApp.app.inject({ method: 'GET', url: downloadUrl });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/gzip');
    expect(createHash('sha256').update(response.rawPayload).digest('hex')).toBe(body.archiveSha256);
    archive = await readArchive(response.rawPayload);
  }, 60_000);

  it('holds exactly the rows of each exported table, counted and checksummed in the manifest', async () => {
    const manifest = JSON.parse(archive.get('manifest.json')!);
    expect(manifest).toMatchObject({ format: 'tenantry-export/1', exportId, tenantId: tenantA.tenantId });
    const counts = await expectedCounts(tenantA.tenantId, finishedAt);
    expect(Object.fromEntries(manifest.tables.map((table: any) => [table.table, table.rows]))).toEqual(counts);
    expect(counts.tasks).toBe(2501);
    for (const table of manifest.tables) {
      const text = archive.get(table.file)!;
      expect(createHash('sha256').update(text, 'utf8').digest('hex')).toBe(table.sha256);
      expect(text === '' ? 0 : text.trimEnd().split('\n').length).toBe(table.rows);
    }
    expect(manifest.modules.find((module: any) => module.name === 'privacy').schemaVersion).toBe('0001_privacy');
  });

  it('covers a table a module declared in this test, without the privacy code naming it', () => {
    const lines = archive.get('tables/contracts.ndjson')!.trimEnd().split('\n').map((line) => JSON.parse(line));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ title: 'contract of ExportA', signer_email: tenantA.email });
  });

  it('holds no row of another tenant, no tenant_id and no secret column', () => {
    const everything = [...archive.values()].join('\n');
    expect(everything).not.toContain(tenantB.tenantId);
    expect(everything).not.toContain('ExportB');
    for (const [name, text] of archive) {
      if (!name.endsWith('.ndjson') || text === '') continue;
      for (const line of text.trimEnd().split('\n')) {
        const row = JSON.parse(line);
        expect(row).not.toHaveProperty('tenant_id');
        expect(row).not.toHaveProperty('secret_hash');
        expect(row).not.toHaveProperty('token_hash');
      }
    }
    expect(archive.has('tables/outbox.ndjson')).toBe(false);
    expect(archive.has('tables/usage_rollup_queue.ndjson')).toBe(false);
  });
});

describe('reaching an export from another tenant', () => {
  it("answers 404 for another tenant's export id", async () => {
    expectProblem(await testApp.app.inject({ method: 'GET', url: `/v1/tenant/exports/${exportId}`, headers: bearer(tokenB) }), 404, 'not-found');
  });

  it('refuses a link moved to another tenant or another export (403), however well formed', async () => {
    const moved = downloadUrl.replace(tenantA.tenantId, tenantB.tenantId);
    expectProblem(await testApp.app.inject({ method: 'GET', url: moved }), 403, 'invalid-download-link');
    const other = downloadUrl.replace(exportId, tenantB.tenantId);
    expectProblem(await testApp.app.inject({ method: 'GET', url: other }), 403, 'invalid-download-link');
    const later = downloadUrl.replace(/expires=\d+/, (match) => `expires=${Number(match.slice(8)) + 3600}`);
    expectProblem(await testApp.app.inject({ method: 'GET', url: later }), 403, 'invalid-download-link');
  });

  it('answers 400 for malformed ids and links', async () => {
    expectProblem(await testApp.app.inject({ method: 'GET', url: '/v1/tenant/exports/not-a-uuid', headers: bearer(tokenA) }), 400, 'validation-failed');
    expectProblem(await testApp.app.inject({ method: 'GET', url: downloadUrl.replace(/signature=[^&]+/, 'signature=short') }), 400, 'validation-failed');
    expectProblem(await testApp.app.inject({ method: 'GET', url: downloadUrl.replace(/&?tenant=[^&]+/, '') }), 400, 'validation-failed');
  });
});

describe('expiry', () => {
  it('refuses a link past its expiry with 410, and a new status gives a new link', async () => {
    testApp.clock.advance(16 * 60);
    expectProblem(await testApp.app.inject({ method: 'GET', url: downloadUrl }), 410, 'download-link-expired');
    tokenA = await signIn(tenantA); // the access token expired with the clock
    const fresh = await finished(tokenA, exportId);
    expect((await testApp.app.inject({ method: 'GET', url: fresh.download.url })).statusCode).toBe(200);
    downloadUrl = fresh.download.url;
  });

  it('deletes the archive once the retention period is over, and the export says so', async () => {
    testApp.clock.advance(testApp.services.config.exportRetentionHours * 3600);
    const { services } = testApp;
    await expireExportsJob.handler({}, { db: services.db, clock: services.clock, config: services.config, logger: services.logger, modules: services.modules, jobs: services.jobs }, {
      jobId: 'test',
      attempt: 1,
      logger: services.logger,
    });
    const { rows } = await testApp.database.admin.query(`SELECT status, storage_key, archive_sha256 FROM tenant_exports WHERE id = $1`, [exportId]);
    expect(rows[0]).toEqual({ status: 'expired', storage_key: null, archive_sha256: null });
    expectProblem(await testApp.app.inject({ method: 'GET', url: downloadUrl }), 410, 'download-link-expired');
    const { readdir } = await import('node:fs/promises');
    expect(await readdir(`${testApp.exportDir}/archives/${tenantA.tenantId}`)).toEqual([]);
  });
});
