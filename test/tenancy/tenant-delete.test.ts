// DELETE /v1/tenant: only the owner, only with the slug repeated; the tenant and every row of
// every tenant table are stamped in one transaction and its credentials die. The purge job
// then removes tenants past the retention period, children first, as the audited service role.

import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateQueue } from '../../src/jobs/migrate-queue.js';
import { PURGE_REASON, purgeDeletedTenants } from '../../src/tenancy/lifecycle/purge-deleted-tenants.js';
import { purgeDeletedTenantsJob } from '../../src/tenancy/lifecycle/purge-job.js';
import { deletionOrder } from '../../src/tenancy/lifecycle/deletion-order.js';
import { TEST_REGISTRY } from '../support/modules.js';
import { addExistingMember, bearer, expectProblem, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { TEST_ROLES } from '../support/roles.js';
import { startTestApp, TEST_JWT_SECRET, type TestApp } from '../support/test-app.js';

/** The registered modules' tenant tables: what soft delete stamps and purge deletes. */
const TENANT_DATA_TABLES = [...TEST_REGISTRY.tenantTables];

let testApp: TestApp;
const DAY = 86_400;

beforeAll(async () => {
  testApp = await startTestApp();
});

afterAll(async () => {
  await testApp.services.jobs.stop();
  await testApp.close();
});

/** A signed-up tenant with a row in every tenant table (project, project member, task). */
async function populatedTenant(): Promise<SignedUpTenant & { projectId: string }> {
  const tenant = await signUp(testApp.app);
  const projectId = randomUUID();
  const agentId = randomUUID();
  const webhookIds = [randomUUID(), randomUUID(), randomUUID()];
  const memoryId = randomUUID();
  const invoiceId = randomUUID();
  const admin = testApp.database.admin;
  await admin.query('INSERT INTO projects (tenant_id, id, name) VALUES ($1, $2, $3)', [tenant.tenantId, projectId, 'roadmap']);
  await admin.query('INSERT INTO project_members (tenant_id, project_id, user_id) VALUES ($1, $2, $3)', [
    tenant.tenantId,
    projectId,
    tenant.userId,
  ]);
  await admin.query('INSERT INTO tasks (tenant_id, id, project_id, title) VALUES ($1, $2, $3, $4), ($1, $5, $3, $6)', [
    tenant.tenantId,
    randomUUID(),
    projectId,
    'ship it',
    randomUUID(),
    'write docs',
  ]);
  await admin.query(
    `INSERT INTO usage_events (tenant_id, idempotency_key, metric, quantity, occurred_at) VALUES ($1, 'k1', 'tasks', 1, now());
     INSERT INTO usage_rollups (tenant_id, metric, granularity, bucket_start, event_count, quantity_sum, quantity_max)
       VALUES ($1, 'tasks', 'hour', date_trunc('hour', now()), 1, 1, 1);
     INSERT INTO usage_counters (tenant_id, metric, period_start, used) VALUES ($1, 'tasks', date_trunc('hour', now()), 1);
     INSERT INTO usage_warnings (tenant_id, metric, period_start, threshold, used, limit_value)
       VALUES ($1, 'tasks', date_trunc('hour', now()), 80, 1, 1);
     INSERT INTO invitations (tenant_id, id, email, role, token_hash, expires_at)
       VALUES ($1, gen_random_uuid(), 'pending@example.test', 'member', '\\x01', now() + interval '7 days');
     INSERT INTO flag_overrides (tenant_id, id, flag_key, value, created_by) VALUES ($1, gen_random_uuid(), 'dark_mode', 'true', 'test');
     INSERT INTO audit_log (tenant_id, id, actor, action, target) VALUES ($1, gen_random_uuid(), 'test', 'test.seeded', 'seed');
     INSERT INTO outbox (tenant_id, id, topic) VALUES ($1, gen_random_uuid(), 'test.effect');
     INSERT INTO agents (tenant_id, id, name) VALUES ($1, '${agentId}', 'scribe');
     INSERT INTO memories (tenant_id, id, agent_id, content) VALUES ($1, '${memoryId}', '${agentId}', 'remembered');
     INSERT INTO memory_versions (tenant_id, id, memory_id, version, content, importance, written_at)
       VALUES ($1, gen_random_uuid(), '${memoryId}', 1, 'first remembered', 0.5, now());
     INSERT INTO memory_settings (tenant_id, relevance_weight, importance_weight, recency_weight, frequency_weight, recency_half_life_hours, duplicate_threshold)
       VALUES ($1, 1, 0, 0, 0, 24, 0.9);
     INSERT INTO webhook_endpoints (tenant_id, id, url, secret_ciphertext) VALUES ($1, '${webhookIds[0]}', 'https://hooks.example.com/', 'v1:x:x:x');
     INSERT INTO webhook_events (tenant_id, id, type, data) VALUES ($1, '${webhookIds[1]}', 'webhook.test', '{}');
     INSERT INTO webhook_deliveries (tenant_id, id, event_id, endpoint_id) VALUES ($1, '${webhookIds[2]}', '${webhookIds[1]}', '${webhookIds[0]}');
     INSERT INTO webhook_attempts (tenant_id, id, delivery_id, attempt, outcome, duration_ms) VALUES ($1, gen_random_uuid(), '${webhookIds[2]}', 1, 'failed', 5);
     INSERT INTO billing_accounts (tenant_id, id, provider) VALUES ($1, gen_random_uuid(), 'local');
     INSERT INTO billing_invoices (tenant_id, id, period_start, period_end, plan, status, total_cents, issued_at)
       VALUES ($1, '${invoiceId}', now() - interval '1 month', now(), 'free', 'open', 100, now());
     INSERT INTO billing_invoice_lines (tenant_id, id, invoice_id, position, kind, description, quantity, amount_cents)
       VALUES ($1, gen_random_uuid(), '${invoiceId}', 0, 'plan', 'Free plan', 1, 100);
     INSERT INTO billing_provider_events (tenant_id, id, provider, event_id, event_type, event_created_at, applied)
       VALUES ($1, gen_random_uuid(), 'stripe', 'evt_seeded', 'invoice.paid', now(), true);
     INSERT INTO billing_usage_reports (tenant_id, id, invoice_id, metric, period_start, period_end, quantity, identifier)
       VALUES ($1, gen_random_uuid(), '${invoiceId}', 'api_calls', now() - interval '1 month', now(), 5, 'tnty_seeded');
     INSERT INTO billing_plan_changes (tenant_id, id, from_plan, to_plan, changed_at) VALUES ($1, gen_random_uuid(), 'free', 'pro', now());
     INSERT INTO realtime_sequences (tenant_id, last_seq) VALUES ($1, 1);
     INSERT INTO realtime_events (tenant_id, seq, outbox_id, channel, type, data) VALUES ($1, 1, gen_random_uuid(), 'tasks', 'task.created', '{}');
     INSERT INTO tenant_exports (tenant_id, id, expires_at) VALUES ($1, gen_random_uuid(), now() + interval '1 day')`.replace(/\$1/g, `'${tenant.tenantId}'`),
  );
  return { ...tenant, projectId };
}

function deleteTenant(token: string, payload: unknown) {
  return testApp.app.inject({ method: 'DELETE', url: '/v1/tenant', headers: bearer(token), payload: payload as object });
}

async function tenantRow(id: string): Promise<{ status: string; deleted_at: Date | null } | undefined> {
  const { rows } = await testApp.database.admin.query('SELECT status, deleted_at FROM tenants WHERE id = $1', [id]);
  return rows[0];
}

/** Per tenant table: [rows of the tenant, rows still live]. */
async function rowsOf(tenantId: string): Promise<Record<string, [number, number]>> {
  const counts: Record<string, [number, number]> = {};
  for (const table of TENANT_DATA_TABLES) {
    const { rows } = await testApp.database.admin.query(
      `SELECT count(*)::int AS total, count(*) FILTER (WHERE deleted_at IS NULL)::int AS live FROM ${table} WHERE tenant_id = $1`,
      [tenantId],
    );
    counts[table] = [rows[0].total, rows[0].live];
  }
  return counts;
}

async function tokenWithRole(tenant: SignedUpTenant, role: 'admin' | 'member'): Promise<string> {
  const person = await signUp(testApp.app);
  return (await addExistingMember(testApp.app, tenant.accessToken, person, role)).accessToken;
}

describe('the registered tenant tables', () => {
  it('names every table with a tenant_id column, and no other', async () => {
    const { rows } = await testApp.database.admin.query<{ table: string }>(
      `SELECT c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
         AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)`,
    );
    expect([...TENANT_DATA_TABLES].sort()).toEqual(rows.map((row) => row.table).sort());
  });

  it('gives every listed table a deleted_at column to stamp', async () => {
    const { rows } = await testApp.database.admin.query<{ table: string }>(
      `SELECT table_name AS table FROM information_schema.columns
       WHERE table_schema = 'public' AND column_name = 'deleted_at' AND table_name = ANY($1)`,
      [[...TENANT_DATA_TABLES]],
    );
    expect(rows.map((row) => row.table).sort()).toEqual([...TENANT_DATA_TABLES].sort());
  });

  it('orders children before the tables they reference, so the purge can delete in order', async () => {
    const { rows } = await testApp.database.admin.query<{ child: string; parent: string }>(
      `SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent
       FROM pg_constraint c WHERE c.contype = 'f' AND c.conrelid <> c.confrelid
         AND c.conrelid::regclass::text = ANY($1) AND c.confrelid::regclass::text = ANY($1)`,
      [[...TENANT_DATA_TABLES]],
    );
    expect(rows.length).toBeGreaterThan(0);
    const order = await testApp.services.db.service('test: read the deletion order', (tx) => deletionOrder(tx, TEST_REGISTRY.tenantTables));
    expect([...order].sort()).toEqual([...TENANT_DATA_TABLES].sort());
    for (const { child, parent } of rows) expect(order.indexOf(child), `${child} -> ${parent}`).toBeLessThan(order.indexOf(parent));
  });

  it('leaves no other foreign key to tenants that the purge would not clear', async () => {
    const { rows } = await testApp.database.admin.query<{ child: string }>(
      `SELECT DISTINCT conrelid::regclass::text AS child FROM pg_constraint
       WHERE contype = 'f' AND confrelid = 'tenants'::regclass`,
    );
    const handled = new Set<string>([...TENANT_DATA_TABLES, 'sessions']);
    expect(rows.map((row) => row.child).filter((table) => !handled.has(table))).toEqual([]);
  });
});

describe('DELETE /v1/tenant', () => {
  it('answers 400 when confirm is not exactly the slug, and changes nothing', async () => {
    const tenant = await populatedTenant();
    const before = await rowsOf(tenant.tenantId);
    expectProblem(await deleteTenant(tenant.accessToken, { confirm: 'not-the-slug' }), 400, 'validation-failed');
    expectProblem(await deleteTenant(tenant.accessToken, { confirm: tenant.slug.toUpperCase() }), 400, 'validation-failed');
    expectProblem(await deleteTenant(tenant.accessToken, { confirm: ` ${tenant.slug}` }), 400, 'validation-failed');
    expectProblem(await deleteTenant(tenant.accessToken, {}), 400, 'validation-failed');
    expect(await tenantRow(tenant.tenantId)).toEqual({ status: 'active', deleted_at: null });
    expect(await rowsOf(tenant.tenantId)).toEqual(before);
  });

  it('answers 403 to an admin and 401 without a credential', async () => {
    const tenant = await populatedTenant();
    const adminToken = await tokenWithRole(tenant, 'admin');
    expectProblem(await deleteTenant(adminToken, { confirm: tenant.slug }), 403, 'forbidden');
    const anonymous = await testApp.app.inject({ method: 'DELETE', url: '/v1/tenant', payload: { confirm: tenant.slug } });
    expectProblem(anonymous, 401, 'unauthenticated');
    expect(await tenantRow(tenant.tenantId)).toEqual({ status: 'active', deleted_at: null });
  });

  it('stamps the tenant and every row of every tenant table in one transaction', async () => {
    const tenant = await populatedTenant();
    // A task deleted earlier keeps its own deletion time.
    const earlier = new Date('2020-01-01T00:00:00Z');
    await testApp.database.admin.query("UPDATE tasks SET deleted_at = $2 WHERE tenant_id = $1 AND title = 'write docs'", [
      tenant.tenantId,
      earlier,
    ]);

    const response = await deleteTenant(tenant.accessToken, { confirm: tenant.slug });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({ id: tenant.tenantId, slug: tenant.slug, status: 'deleted' });
    expect(new Date(body.purgeAfter).getTime() - new Date(body.deletedAt).getTime()).toBe(30 * DAY * 1000);

    const tenantAfter = await tenantRow(tenant.tenantId);
    expect(tenantAfter?.status).toBe('deleted');
    expect(tenantAfter?.deleted_at?.toISOString()).toBe(body.deletedAt);
    const counts = await rowsOf(tenant.tenantId);
    for (const table of TENANT_DATA_TABLES) {
      expect(counts[table]![0], table).toBeGreaterThan(0);
      expect(counts[table]![1], `${table} rows still live`).toBe(0);
    }
    const { rows: kept } = await testApp.database.admin.query("SELECT deleted_at FROM tasks WHERE tenant_id = $1 AND title = 'write docs'", [
      tenant.tenantId,
    ]);
    expect(kept[0].deleted_at).toEqual(earlier);

    // Every row written by the delete carries the same transaction id (xmin): one transaction.
    const union = ['tenants WHERE id = $1', ...TENANT_DATA_TABLES.map((table) => `${table} WHERE tenant_id = $1 AND deleted_at = $2`)]
      .map((from) => `SELECT xmin::text AS xid FROM ${from}`)
      .join(' UNION ALL ');
    const { rows: xids } = await testApp.database.admin.query(`SELECT DISTINCT xid FROM (${union}) AS stamped`, [
      tenant.tenantId,
      tenantAfter!.deleted_at,
    ]);
    expect(xids).toHaveLength(1);
  });

  it('changes nothing when any table fails midway', async () => {
    const tenant = await populatedTenant();
    // The API-call meter writes the tenant's usage up to a second later: settled first.
    await testApp.services.metering.apiCalls.flush();
    const before = await rowsOf(tenant.tenantId);
    const admin = testApp.database.admin;
    // Fails the stamping of memberships, the last table, so every earlier update must roll back.
    await admin.query(`CREATE FUNCTION test_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'injected failure'; END $$`);
    await admin.query(`CREATE TRIGGER test_refuse BEFORE UPDATE ON memberships FOR EACH ROW
      WHEN (OLD.tenant_id = '${tenant.tenantId}') EXECUTE FUNCTION test_refuse_update()`);
    try {
      const response = await deleteTenant(tenant.accessToken, { confirm: tenant.slug });
      expect(response.statusCode).toBe(500);
    } finally {
      await admin.query('DROP TRIGGER test_refuse ON memberships; DROP FUNCTION test_refuse_update()');
    }
    expect(await tenantRow(tenant.tenantId)).toEqual({ status: 'active', deleted_at: null });
    expect(await rowsOf(tenant.tenantId)).toEqual(before);
  });

  it("kills the tenant's access tokens (404) and API keys (401), and leaves other tenants alone", async () => {
    const doomed = await populatedTenant();
    const bystander = await populatedTenant();
    // The API-call meter writes the bystander's own usage up to a second later: settled first.
    await testApp.services.metering.apiCalls.flush();
    const bystanderBefore = await rowsOf(bystander.tenantId);
    const members = (credential: string) => testApp.app.inject({ method: 'GET', url: '/v1/members', headers: bearer(credential) });
    expect((await members(doomed.accessToken)).statusCode).toBe(200);
    expect((await members(doomed.apiKey)).statusCode).toBe(200);

    expect((await deleteTenant(doomed.accessToken, { confirm: doomed.slug })).statusCode).toBe(200);

    expectProblem(await members(doomed.accessToken), 404, 'tenant-not-found');
    expect((await members(doomed.apiKey)).statusCode).toBe(401);
    expectProblem(await deleteTenant(doomed.accessToken, { confirm: doomed.slug }), 404, 'tenant-not-found');
    const byHeader = await testApp.app.inject({
      method: 'GET',
      url: '/v1/members',
      headers: { ...bearer(bystander.accessToken), 'x-tenant-id': doomed.slug },
    });
    expect(byHeader.statusCode).toBe(404);

    await testApp.services.metering.apiCalls.flush();
    expect(await tenantRow(bystander.tenantId)).toEqual({ status: 'active', deleted_at: null });
    expect(await rowsOf(bystander.tenantId)).toEqual(bystanderBefore);
    // Compared before these, whose own API calls are usage of the bystander's.
    expect((await members(bystander.accessToken)).statusCode).toBe(200);
    expect((await members(bystander.apiKey)).statusCode).toBe(200);
  });
});

// These move the shared clock forward by weeks, so they run last.
describe('purging deleted tenants', () => {
  it('removes only tenants deleted longer ago than the retention, with all their rows, and audits it', async () => {
    const old = await populatedTenant();
    expect((await deleteTenant(old.accessToken, { confirm: old.slug })).statusCode).toBe(200);
    testApp.clock.advance(31 * DAY);
    const recent = await populatedTenant();
    expect((await deleteTenant(recent.accessToken, { confirm: recent.slug })).statusCode).toBe(200);
    const live = await populatedTenant();
    const recentBefore = await rowsOf(recent.tenantId);
    const liveBefore = await rowsOf(live.tenantId);
    const auditStart = new Date();

    const result = await purgeDeletedTenants(testApp.services.db, testApp.services.modules.tenantTables, testApp.clock, 30);

    expect(result.purgedTenantIds).toContain(old.tenantId);
    expect(result.purgedTenantIds).not.toContain(recent.tenantId);
    expect(result.purgedTenantIds).not.toContain(live.tenantId);
    expect(await tenantRow(old.tenantId)).toBeUndefined();
    for (const [table, [total]] of Object.entries(await rowsOf(old.tenantId))) expect(total, table).toBe(0);
    // The owner is a global identity: the user stays, their session just forgets the tenant.
    const { rows: owner } = await testApp.database.admin.query('SELECT id FROM users WHERE id = $1', [old.userId]);
    expect(owner).toHaveLength(1);
    const { rows: sessions } = await testApp.database.admin.query('SELECT active_tenant_id FROM sessions WHERE user_id = $1', [old.userId]);
    for (const session of sessions) expect(session.active_tenant_id).toBeNull();

    expect((await tenantRow(recent.tenantId))?.status).toBe('deleted');
    expect(await rowsOf(recent.tenantId)).toEqual(recentBefore);
    expect(await tenantRow(live.tenantId)).toEqual({ status: 'active', deleted_at: null });
    expect(await rowsOf(live.tenantId)).toEqual(liveBefore);

    const { rows: audit } = await testApp.database.admin.query(
      'SELECT actor FROM service_role_audit WHERE reason = $1 AND created_at >= $2',
      [PURGE_REASON, auditStart],
    );
    expect(audit.length).toBeGreaterThanOrEqual(1);
    expect(audit[0].actor).toBe('system');
  });

  it('runs as a service job on the queue', async () => {
    await migrateQueue(testApp.database.url, TEST_ROLES, testApp.services.logger);
    const jobs = testApp.services.jobs;
    const doomed = await populatedTenant();
    expect((await deleteTenant(doomed.accessToken, { confirm: doomed.slug })).statusCode).toBe(200);
    testApp.clock.advance(31 * DAY);
    await jobs.start({ concurrency: 1, pollIntervalMs: 200 });
    const done = new Promise<unknown>((resolve) => {
      jobs.events.on('job:complete', ({ job, error }) => {
        if (job.task_identifier === purgeDeletedTenantsJob.name) resolve(error);
      });
    });
    await jobs.enqueueDirect(purgeDeletedTenantsJob, {});
    expect(await done).toBeNull();
    expect(await tenantRow(doomed.tenantId)).toBeUndefined();
  });

  it('runs from the CLI as `tenantry purge`', async () => {
    const doomed = await populatedTenant();
    await testApp.database.admin.query(
      "UPDATE tenants SET status = 'deleted', deleted_at = now() - interval '40 days' WHERE id = $1",
      [doomed.tenantId],
    );
    const { stdout } = await promisify(execFile)('npx', ['tsx', 'src/cli.ts', 'purge'], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        DATABASE_URL: testApp.database.url,
        TENANTRY_JWT_SECRET: TEST_JWT_SECRET,
        TENANTRY_DB_OWNER_ROLE: TEST_ROLES.owner,
        TENANTRY_DB_APP_ROLE: TEST_ROLES.app,
        TENANTRY_DB_SERVICE_ROLE: TEST_ROLES.service,
        LOG_LEVEL: 'warn',
      },
      timeout: 60_000,
    });
    expect(JSON.parse(stdout).purgedTenantIds).toContain(doomed.tenantId);
    expect(await tenantRow(doomed.tenantId)).toBeUndefined();
  });
});
