// The invoices module, registered from outside src/ exactly as an adopter would, gets every
// guarantee Tenantry's own tables get: both isolation layers (each proven alone), tenant
// deletion and purge, tenant jobs, and migration onto a deployment that did not have it.

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Database, enterTenant, migrate, platformModules, type Tables } from 'tenantry';
import { asRole } from '../../../src/db/open-database.js';
import { migrateQueue } from '../../../src/jobs/migrate-queue.js';
import { purgeDeletedTenants } from '../../../src/tenancy/lifecycle/purge-deleted-tenants.js';
import { bearer, expectProblem, signUp, type SignedUpTenant } from '../../../test/support/fixtures.js';
import { rowTypeDrift } from '../../../test/support/row-types/row-type-drift.js';
import { TEST_LOGIN_PASSWORD, TEST_ROLES, TEST_SERVICE_LOGIN_PASSWORD } from '../../../test/support/roles.js';
import { startTestApp, type TestApp } from '../../../test/support/test-app.js';
import type { InvoiceTables } from '../src/invoice-tables.js';
import { invoicesModule } from '../src/invoices.module.js';

const MODULES = [...platformModules, invoicesModule];
const MADE_UP_ID = '01890000-0000-7000-8000-000000000000';

let testApp: TestApp;
let a: SignedUpTenant;
let b: SignedUpTenant;
let invoiceOfA: { id: string };
let appRolePool: pg.Pool;

async function createInvoice(tenant: SignedUpTenant, number: string, dueAt = '2030-01-01T00:00:00Z'): Promise<{ id: string }> {
  const response = await testApp.app.inject({
    method: 'POST',
    url: '/v1/invoices',
    headers: bearer(tenant.accessToken),
    payload: { number, customerEmail: `billing-${number}@example.test`, amountCents: 12_500, currency: 'EUR', dueAt },
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json();
}

/** Every invoice row of a tenant, read by the superuser: what must not change under attack. */
async function invoicesOf(tenantId: string): Promise<unknown[]> {
  const { rows } = await testApp.database.admin.query('SELECT * FROM invoices WHERE tenant_id = $1 ORDER BY id', [tenantId]);
  return rows;
}

beforeAll(async () => {
  testApp = await startTestApp({}, { modules: MODULES });
  a = await signUp(testApp.app);
  b = await signUp(testApp.app);
  invoiceOfA = await createInvoice(a, 'A-1');
  await createInvoice(b, 'B-1');
  appRolePool = new pg.Pool({ connectionString: asRole(testApp.database.url, TEST_ROLES.login, TEST_LOGIN_PASSWORD), max: 2 });
});

afterAll(async () => {
  await testApp?.services.outbox.stop();
  await testApp?.services.jobs.stop();
  await appRolePool?.end();
  await testApp?.close();
});

describe('the invoices module, from outside src/', () => {
  it('is named by no file under src/: Tenantry learns of it only by its registration', async () => {
    const root = fileURLToPath(new URL('../../../src', import.meta.url));
    const files = (await readdir(root, { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile());
    const naming: string[] = [];
    for (const file of files) {
      const path = join(file.parentPath, file.name);
      // The example's own names: its module, job, folder and table (Tenantry's billing has
      // invoices of its own, in tables named billing_*, and may say the word).
      if (/invoicesModule|markOverdueInvoices|examples\/invoices|['"`]invoices['"`]/.test(await readFile(path, 'utf8'))) naming.push(path);
    }
    expect(files.length).toBeGreaterThan(100);
    expect(naming).toEqual([]);
  });
});

describe('the invoices module on a deployment that did not have it', () => {
  it('was migrated onto the existing schema, and migrating again applies nothing', async () => {
    const { rows } = await testApp.database.admin.query('SELECT name FROM tenantry_migrations_invoices');
    expect(rows.map((row) => row.name)).toEqual(['0001_invoices']);
    const again = await migrate({
      databaseUrl: testApp.database.url,
      roles: TEST_ROLES,
      modules: MODULES,
      loginPassword: TEST_LOGIN_PASSWORD,
      serviceLoginPassword: TEST_SERVICE_LOGIN_PASSWORD,
    });
    expect(again).toEqual([]);
  });

  it('has row types that agree with its migrated table', async () => {
    const drift = await rowTypeDrift(testApp.database.admin, {
      file: fileURLToPath(new URL('../src/invoice-tables.ts', import.meta.url)),
      interfaceName: 'InvoiceTables',
      declares: (relation) => relation === 'invoices',
      filledOnInsert: (relation, column) => column === 'tenant_id' && testApp.services.modules.tenantTables.has(relation),
    });
    expect(drift).toEqual([]);
  });

  it('has its table registered as a tenant table with RLS forced', async () => {
    expect(testApp.services.modules.tenantTables.has('invoices')).toBe(true);
    const { rows } = await testApp.database.admin.query(
      "SELECT relrowsecurity AS enabled, relforcerowsecurity AS forced FROM pg_class WHERE oid = 'invoices'::regclass",
    );
    expect(rows[0]).toEqual({ enabled: true, forced: true });
  });
});

describe('another tenant, over HTTP', () => {
  it("gets the made-up id's answer for A's invoice, and changes nothing", async () => {
    const before = await invoicesOf(a.tenantId);
    for (const [method, suffix] of [
      ['GET', ''],
      ['POST', '/void'],
    ] as const) {
      const real = await testApp.app.inject({ method, url: `/v1/invoices/${invoiceOfA.id}${suffix}`, headers: bearer(b.accessToken) });
      const madeUp = await testApp.app.inject({ method, url: `/v1/invoices/${MADE_UP_ID}${suffix}`, headers: bearer(b.accessToken) });
      expectProblem(real, 404, 'not-found');
      expect({ status: real.statusCode, type: real.json().type }).toEqual({ status: madeUp.statusCode, type: madeUp.json().type });
    }
    const list = await testApp.app.inject({ method: 'GET', url: '/v1/invoices', headers: bearer(b.apiKey) });
    expect(list.json()).toMatchObject({ data: [{ number: 'B-1' }], nextCursor: null });
    expect(await invoicesOf(a.tenantId)).toEqual(before);
  });

  it('pages through its own invoices newest first', async () => {
    const numbers = ['P-1', 'P-2', 'P-3'];
    const tenant = await signUp(testApp.app);
    for (const number of numbers) await createInvoice(tenant, number);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
      const page = (await testApp.app.inject({ method: 'GET', url: `/v1/invoices?limit=2${query}`, headers: bearer(tenant.accessToken) })).json();
      seen.push(...page.data.map((invoice: { number: string }) => invoice.number));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...numbers].reverse());
  });

  it('lets the owner void their own invoice once', async () => {
    const own = await createInvoice(a, 'A-void');
    const first = await testApp.app.inject({ method: 'POST', url: `/v1/invoices/${own.id}/void`, headers: bearer(a.accessToken) });
    expect(first.statusCode).toBe(200);
    expect(first.json().status).toBe('void');
    const again = expectProblem(await testApp.app.inject({ method: 'POST', url: `/v1/invoices/${own.id}/void`, headers: bearer(a.accessToken) }), 409);
    // The module's own problem, not the platform's generic conflict.
    expect(again).toMatchObject({ type: 'https://invoices.example/problems/invoice-already-void', title: 'The invoice is void already' });
    expect(again.detail).toMatch(/^invoice A-void was voided at \d{4}-/);
  });
});

describe('RLS alone', () => {
  /** Raw SQL as the app role, scoped to B, with no query layer at all. */
  async function asAppRoleInB<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await appRolePool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SET LOCAL ROLE "${TEST_ROLES.app}"; SET LOCAL app.tenant_id = '${b.tenantId}'`);
      return await work(client);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  }

  it("hides A's invoices from raw SQL and refuses to write them", async () => {
    const before = await invoicesOf(a.tenantId);
    const seen = await asAppRoleInB((client) => client.query('SELECT tenant_id FROM invoices'));
    expect(new Set(seen.rows.map((row) => row.tenant_id))).toEqual(new Set([b.tenantId]));
    const updated = await asAppRoleInB((client) => client.query("UPDATE invoices SET status = 'void' WHERE id = $1", [invoiceOfA.id]));
    expect(updated.rowCount).toBe(0);
    await expect(
      asAppRoleInB((client) =>
        client.query(
          "INSERT INTO invoices (tenant_id, id, number, customer_email, amount_cents, currency, due_at) VALUES ($1, gen_random_uuid(), 'X', 'x@example.test', 1, 'EUR', now())",
          [a.tenantId],
        ),
      ),
    ).rejects.toThrow(/row-level security/);
    expect(await invoicesOf(a.tenantId)).toEqual(before);
  });
});

describe('the query filter alone (RLS bypassed by the table owner)', () => {
  it("scopes the module's queries to B", async () => {
    await testApp.database.admin.query('ALTER TABLE invoices NO FORCE ROW LEVEL SECURITY');
    const ownerPool = new pg.Pool({ connectionString: testApp.database.url, max: 2 });
    try {
      const filterOnly = new Database<Tables & InvoiceTables>({
        pool: ownerPool,
        roles: { ...TEST_ROLES, app: TEST_ROLES.owner },
        logger: pino({ level: 'silent' }),
        modules: testApp.services.modules,
      });
      const before = await invoicesOf(a.tenantId);
      const { seen, updated } = await enterTenant(b.tenantId, () =>
        filterOnly.tenant(async (tx) => ({
          seen: await tx.selectFrom('invoices').select('tenant_id').execute(),
          updated: await tx.updateTable('invoices').set({ status: 'void' }).where('id', '=', invoiceOfA.id).executeTakeFirst(),
        })),
      );
      expect(new Set(seen.map((row) => row.tenant_id))).toEqual(new Set([b.tenantId]));
      expect(updated.numUpdatedRows).toBe(0n);
      expect(await invoicesOf(a.tenantId)).toEqual(before);
    } finally {
      await ownerPool.end();
      await testApp.database.admin.query('ALTER TABLE invoices FORCE ROW LEVEL SECURITY');
    }
  });
});

describe('a tenant job', () => {
  it("marks only its own tenant's past-due invoices overdue", async () => {
    await migrateQueue(testApp.database.url, TEST_ROLES, testApp.services.logger);
    await testApp.services.jobs.start({ concurrency: 1, pollIntervalMs: 200 });
    // Tenant jobs reach the queue through the outbox, as in the server.
    testApp.services.outbox.start();
    const pastDueOfA = await createInvoice(a, 'A-late', '2020-01-01T00:00:00Z');
    const pastDueOfB = await createInvoice(b, 'B-late', '2020-01-01T00:00:00Z');
    const done = new Promise<void>((resolve, reject) => {
      testApp.services.jobs.events.on('job:success', ({ job }) => job.task_identifier === 'mark-overdue-invoices' && resolve());
      testApp.services.jobs.events.on('job:failed', ({ job, error }) => job.task_identifier === 'mark-overdue-invoices' && reject(error));
    });
    const queued = await testApp.app.inject({ method: 'POST', url: '/v1/invoices/overdue-check', headers: bearer(a.accessToken) });
    expect(queued.statusCode, queued.body).toBe(202);
    await done;
    const statusOf = async (tenant: SignedUpTenant, id: string) =>
      (await testApp.app.inject({ method: 'GET', url: `/v1/invoices/${id}`, headers: bearer(tenant.accessToken) })).json().status;
    expect(await statusOf(a, pastDueOfA.id)).toBe('overdue');
    expect(await statusOf(b, pastDueOfB.id)).toBe('open');
    expect(await statusOf(a, invoiceOfA.id)).toBe('open');
  });
});

describe('tenant deletion and purge', () => {
  it("stamp and then remove the module's rows with the tenant's, and leave other tenants' alone", async () => {
    const doomed = await signUp(testApp.app);
    await createInvoice(doomed, 'D-1');
    const deleted = await testApp.app.inject({
      method: 'DELETE',
      url: '/v1/tenant',
      headers: bearer(doomed.accessToken),
      payload: { confirm: doomed.slug },
    });
    expect(deleted.statusCode, deleted.body).toBe(200);
    const stamped = await invoicesOf(doomed.tenantId);
    expect(stamped).toHaveLength(1);
    expect((stamped[0] as { deleted_at: Date | null }).deleted_at).not.toBeNull();
    const untouched = await invoicesOf(b.tenantId);

    testApp.clock.advance(31 * 86_400);
    const purged = await purgeDeletedTenants(testApp.services.db, testApp.services.modules.tenantTables, testApp.clock, 30);
    expect(purged.purgedTenantIds).toContain(doomed.tenantId);
    expect(await invoicesOf(doomed.tenantId)).toEqual([]);
    expect(await invoicesOf(b.tenantId)).toEqual(untouched);
  });
});
