// A tenant request served from the access cache does not trust it: PostgreSQL re-checks the
// cached access in the request's first unit of work (tenancy/access-check.ts). Two instances on one
// database, B's cache warm: whatever happens through A — or behind both, straight in the
// database — B refuses the very next request, without waiting for any invalidation to arrive.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addNewMember, bearer, expectProblem, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { connected, eventually, startInstance, type Instance } from '../cache/second-instance.js';

let a: TestApp;
let b: Instance;

beforeAll(async () => {
  const shared = { TENANTRY_CACHE_TTL_SECONDS: '30', TENANTRY_CACHE_CHANNEL: 'tenantry_access_cache_test' };
  a = await startTestApp(shared);
  b = await startInstance(a.database, shared);
  await connected(a.services);
  await connected(b.services);
});

afterAll(async () => {
  await b?.close();
  await a?.close();
});

const onB = (url: string, token: string) => b.app.inject({ method: 'GET', url, headers: bearer(token) });
const onA = (method: 'DELETE' | 'PATCH' | 'POST', url: string, token: string, payload?: object) =>
  a.app.inject({ method, url, headers: bearer(token), ...(payload ? { payload } : {}) });

/** Serves `token` on B until B answers from its cache (a second request finds the entry). */
async function warm(token: string, url = '/v1/members'): Promise<void> {
  expect((await onB(url, token)).statusCode).toBe(200);
  expect((await onB(url, token)).statusCode).toBe(200);
}

describe('revocations through A are refused by B on the next request', () => {
  let tenant: SignedUpTenant;
  beforeAll(async () => {
    tenant = await signUp(a.app);
  });

  it('a signed-out session', async () => {
    const member = await addNewMember(a.app, tenant.accessToken, 'member');
    await warm(member.accessToken);
    expect((await a.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: bearer(member.accessToken) })).statusCode).toBe(204);
    expectProblem(await onB('/v1/members', member.accessToken), 401, 'invalid-credentials');
  });

  it('a removed member', async () => {
    const member = await addNewMember(a.app, tenant.accessToken, 'member');
    await warm(member.accessToken);
    expect((await onA('DELETE', `/v1/members/${member.userId}`, tenant.accessToken)).statusCode).toBe(204);
    expectProblem(await onB('/v1/members', member.accessToken), 403, 'not-a-member');
  });

  it('a revoked API key, and the keys of a removed creator', async () => {
    const admin = await addNewMember(a.app, tenant.accessToken, 'admin');
    const minted = (await onA('POST', '/v1/api-keys', admin.accessToken, { name: 'by the admin', role: 'member' })).json();
    const revoked = (await onA('POST', '/v1/api-keys', tenant.accessToken, { name: 'to revoke', role: 'viewer' })).json();
    await warm(minted.key);
    await warm(revoked.key);
    expect((await onA('DELETE', `/v1/api-keys/${revoked.id}`, tenant.accessToken)).statusCode).toBe(204);
    expectProblem(await onB('/v1/members', revoked.key), 401, 'invalid-credentials');
    expect((await onA('DELETE', `/v1/members/${admin.userId}`, tenant.accessToken)).statusCode).toBe(204);
    expectProblem(await onB('/v1/members', minted.key), 401, 'invalid-credentials');
  });

  it('a write is refused in PostgreSQL too: nothing is written', async () => {
    const member = await addNewMember(a.app, tenant.accessToken, 'member');
    await warm(member.accessToken);
    expect((await onA('DELETE', `/v1/members/${member.userId}`, tenant.accessToken)).statusCode).toBe(204);
    const write = await b.app.inject({ method: 'POST', url: '/v1/projects', headers: bearer(member.accessToken), payload: { name: 'after removal' } });
    expectProblem(write, 403, 'not-a-member');
    const { rowCount } = await a.database.admin.query(`SELECT 1 FROM projects WHERE name = 'after removal'`);
    expect(rowCount).toBe(0);
  });
});

describe('changes made behind both instances, with no invalidation at all', () => {
  it('a tenant suspended in the database is read-only to warm members and keys', async () => {
    const tenant = await signUp(a.app);
    await warm(tenant.accessToken);
    await warm(tenant.apiKey);
    await a.database.admin.query(`UPDATE tenants SET status = 'suspended' WHERE id = $1`, [tenant.tenantId]);
    expect((await onB('/v1/members', tenant.accessToken)).statusCode).toBe(200);
    const write = (token: string) =>
      b.app.inject({ method: 'POST', url: '/v1/projects', headers: bearer(token), payload: { name: 'while suspended' } });
    expectProblem(await write(tenant.accessToken), 423, 'tenant-read-only');
    expectProblem(await write(tenant.apiKey), 423, 'tenant-read-only');
    const { rowCount } = await a.database.admin.query(`SELECT 1 FROM projects WHERE tenant_id = $1`, [tenant.tenantId]);
    expect(rowCount).toBe(0);
    await a.database.admin.query(`UPDATE tenants SET status = 'active' WHERE id = $1`, [tenant.tenantId]);
    expect((await write(tenant.accessToken)).statusCode).toBe(201);
  });

  it('a role lowered in the database is never acted on: refused as changed, then served with the new role', async () => {
    const tenant = await signUp(a.app);
    const admin = await addNewMember(a.app, tenant.accessToken, 'admin');
    await warm(admin.accessToken, '/v1/api-keys');
    await a.database.admin.query(`UPDATE memberships SET role = 'member' WHERE user_id = $1`, [admin.userId]);
    expectProblem(await onB('/v1/api-keys', admin.accessToken), 409, 'access-changed');
    expectProblem(await onB('/v1/api-keys', admin.accessToken), 403, 'forbidden');
  });

  it('a route that opens no tenant unit still checks before it answers', async () => {
    const tenant = await signUp(a.app);
    const member = await addNewMember(a.app, tenant.accessToken, 'member');
    await warm(member.accessToken, '/v1/flags');
    await a.database.admin.query(`UPDATE memberships SET deleted_at = now() WHERE user_id = $1`, [member.userId]);
    const response = await onB('/v1/flags', member.accessToken);
    expectProblem(response, 403, 'not-a-member');
  });
});

describe('a role changed through A', () => {
  it('reaches B through the bus: B serves the new role without a refused request', async () => {
    const tenant = await signUp(a.app);
    const member = await addNewMember(a.app, tenant.accessToken, 'member');
    await warm(member.accessToken);
    expectProblem(await onB('/v1/api-keys', member.accessToken), 403, 'forbidden');
    expect((await onA('PATCH', `/v1/members/${member.userId}`, tenant.accessToken, { role: 'admin' })).statusCode).toBe(200);
    await eventually(async () => (await onB('/v1/api-keys', member.accessToken)).statusCode === 200);
  });
});

// The checks are prepared statements (tenancy/access-check.ts): after five runs on a connection
// PostgreSQL may plan one once for every tenant. An instance whose connections plan them that
// way from the first run refuses exactly what the others refuse.
describe('the checks under generic plans', () => {
  let c: Instance;
  beforeAll(async () => {
    await a.database.admin.query(`ALTER DATABASE "${a.database.name}" SET plan_cache_mode = force_generic_plan`);
    c = await startInstance(a.database, { TENANTRY_CACHE_TTL_SECONDS: '30', TENANTRY_CACHE_CHANNEL: 'tenantry_access_cache_test' });
    await connected(c.services);
  });
  afterAll(async () => {
    await c?.close();
  });

  const onC = (url: string, token: string, method: 'GET' | 'POST' = 'GET') =>
    c.app.inject({ method, url, headers: bearer(token), ...(method === 'POST' ? { payload: { name: 'generic' } } : {}) });

  it('refuse a signed-out session, a changed role, a removed member and a revoked key, and hold a suspended tenant', async () => {
    const tenant = await signUp(a.app);
    const out = await addNewMember(a.app, tenant.accessToken, 'member');
    const changed = await addNewMember(a.app, tenant.accessToken, 'admin');
    const key = (await onA('POST', '/v1/api-keys', tenant.accessToken, { name: 'generic', role: 'viewer' })).json();
    // Several served requests each, so the checks have run (generically planned) on the instance's connections.
    for (const token of [tenant.accessToken, tenant.apiKey, out.accessToken, changed.accessToken, key.key]) {
      for (let i = 0; i < 4; i++) expect((await onC('/v1/members', token)).statusCode).toBe(200);
    }
    expect((await a.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: bearer(out.accessToken) })).statusCode).toBe(204);
    expectProblem(await onC('/v1/members', out.accessToken), 401, 'invalid-credentials');
    await a.database.admin.query(`UPDATE memberships SET role = 'member' WHERE user_id = $1`, [changed.userId]);
    expectProblem(await onC('/v1/members', changed.accessToken), 409, 'access-changed');
    // Read afresh, then served from the cache again, then removed behind the instance's back.
    expect((await onC('/v1/members', changed.accessToken)).statusCode).toBe(200);
    expect((await onC('/v1/members', changed.accessToken)).statusCode).toBe(200);
    await a.database.admin.query(`UPDATE memberships SET deleted_at = now() WHERE user_id = $1`, [changed.userId]);
    expectProblem(await onC('/v1/members', changed.accessToken), 403, 'not-a-member');
    await a.database.admin.query(`UPDATE api_keys SET revoked_at = now() WHERE id = $1`, [key.id]);
    expectProblem(await onC('/v1/members', key.key), 401, 'invalid-credentials');
    await a.database.admin.query(`UPDATE tenants SET status = 'suspended' WHERE id = $1`, [tenant.tenantId]);
    expect((await onC('/v1/members', tenant.accessToken)).statusCode).toBe(200);
    expectProblem(await onC('/v1/projects', tenant.accessToken, 'POST'), 423, 'tenant-read-only');
    expectProblem(await onC('/v1/projects', tenant.apiKey, 'POST'), 423, 'tenant-read-only');
    await a.database.admin.query(`UPDATE tenants SET status = 'active' WHERE id = $1`, [tenant.tenantId]);
    expect((await onC('/v1/projects', tenant.accessToken, 'POST')).statusCode).toBe(201);
    // C's connections, all opened after the ALTER, were planning generically, as a new one does.
    const fresh = new pg.Client({ connectionString: a.database.url });
    await fresh.connect();
    try {
      expect((await fresh.query('SHOW plan_cache_mode')).rows[0].plan_cache_mode).toBe('force_generic_plan');
    } finally {
      await fresh.end();
    }
  });
});
