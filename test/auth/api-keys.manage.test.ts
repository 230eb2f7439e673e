// /v1/api-keys: admins create (secret shown once, only its hash kept), list and revoke keys
// of their own tenant; a key works in its own tenant only and stops at once when revoked.
// Agent keys count against the plan's agents limit: live ones only, concurrent creates included.

import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addExistingMember, bearer, expectProblem, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { rowCounts } from '../support/row-counts.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let testApp: TestApp;
let tenantA: SignedUpTenant;
let tenantB: SignedUpTenant;

beforeAll(async () => {
  testApp = await startTestApp();
  tenantA = await signUp(testApp.app);
  // Many members join tenant A below: past the free plan's seats (3).
  await testApp.database.admin.query("UPDATE tenants SET plan = 'promax' WHERE id = $1", [tenantA.tenantId]);
  tenantB = await signUp(testApp.app);
});

afterAll(async () => {
  await testApp.close();
});

function createKey(token: string, payload: Record<string, unknown> = { name: 'CI' }) {
  return testApp.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(token), payload });
}

function listKeys(token: string, headers: Record<string, string> = {}) {
  return testApp.app.inject({ method: 'GET', url: '/v1/api-keys', headers: { ...bearer(token), ...headers } });
}

function revokeKey(token: string, id: string) {
  return testApp.app.inject({ method: 'DELETE', url: `/v1/api-keys/${id}`, headers: bearer(token) });
}

/** A token for a user holding `role` in tenant A (an existing user added, then signed in there). */
async function tokenWithRole(role: 'admin' | 'member' | 'viewer'): Promise<string> {
  const person = await signUp(testApp.app);
  return (await addExistingMember(testApp.app, tenantA.accessToken, person, role)).accessToken;
}

describe('creating a key', () => {
  it('returns the secret once; the list never shows it', async () => {
    const response = await createKey(tenantA.accessToken, { name: 'deploy bot', kind: 'agent', role: 'viewer', scopes: ['tasks:read'] });
    expect(response.statusCode).toBe(201);
    const created = response.json();
    expect(created).toMatchObject({ name: 'deploy bot', kind: 'agent', role: 'viewer', scopes: ['tasks:read'], createdBy: tenantA.userId, revokedAt: null });
    expect(created.key).toMatch(new RegExp(`^tnt_${created.prefix}_`));
    const secret = created.key.split('_').slice(2).join('_');

    const list = await listKeys(tenantA.accessToken);
    expect(list.statusCode).toBe(200);
    expect(list.json().data).toContainEqual(expect.objectContaining({ id: created.id, prefix: created.prefix }));
    expect(list.body).not.toContain(secret);
    for (const key of list.json().data) expect(key).not.toHaveProperty('key');
  });

  it('stores a SHA-256 of the secret, never the secret itself', async () => {
    const created = (await createKey(tenantA.accessToken)).json();
    const secret: string = created.key.split('_').slice(2).join('_');
    const { rows } = await testApp.database.admin.query('SELECT secret_hash, row_to_json(k)::text AS whole FROM api_keys k WHERE id = $1', [created.id]);
    expect(rows).toHaveLength(1);
    expect(rows[0].whole).not.toContain(secret);
    expect(rows[0].whole).not.toContain(created.key);
    expect(Buffer.from(rows[0].secret_hash).toString('latin1')).not.toContain(secret);
    expect(Buffer.from(rows[0].secret_hash)).toEqual(createHash('sha256').update(secret).digest());
  });

  it('gives a key that works as a bearer credential in its tenant', async () => {
    const created = (await createKey(tenantA.accessToken, { name: 'reader', role: 'viewer' })).json();
    const response = await testApp.app.inject({ method: 'GET', url: '/v1/members', headers: bearer(created.key) });
    expect(response.statusCode).toBe(200);
    // Its use is stamped with the tenant's next API-call flush, not on the request's path.
    await testApp.services.metering.apiCalls.flush();
    const { rows } = await testApp.database.admin.query('SELECT last_used_at FROM api_keys WHERE id = $1', [created.id]);
    expect(rows[0].last_used_at).not.toBeNull();
  });

  it('refuses an owner-role key, even to an owner', async () => {
    const before = await rowCounts(testApp.database.admin);
    expectProblem(await createKey(tenantA.accessToken, { name: 'too strong', role: 'owner' }), 400, 'validation-failed');
    expect(await rowCounts(testApp.database.admin)).toEqual(before);
  });

  it('refuses an owner-role key to an admin', async () => {
    const admin = await tokenWithRole('admin');
    expect((await createKey(admin, { name: 'admin key', role: 'admin' })).statusCode).toBe(201);
    const before = await rowCounts(testApp.database.admin);
    const response = await createKey(admin, { name: 'too strong', role: 'owner' });
    expect([400, 403]).toContain(response.statusCode);
    expectProblem(response, response.statusCode);
    expect(await rowCounts(testApp.database.admin)).toEqual(before);
  });
});

describe('revoking a key', () => {
  it('makes it answer 401 at once', async () => {
    const created = (await createKey(tenantA.accessToken)).json();
    const use = () => testApp.app.inject({ method: 'GET', url: '/v1/members', headers: bearer(created.key) });
    expect((await use()).statusCode).toBe(200);
    expect((await revokeKey(tenantA.accessToken, created.id)).statusCode).toBe(204);
    expectProblem(await use(), 401, 'invalid-credentials');
    const listed = (await listKeys(tenantA.accessToken)).json().data.find((k: { id: string }) => k.id === created.id);
    expect(listed.revokedAt).not.toBeNull();
  });

  it('returns 404 for a key that is already revoked', async () => {
    const created = (await createKey(tenantA.accessToken)).json();
    await revokeKey(tenantA.accessToken, created.id);
    expectProblem(await revokeKey(tenantA.accessToken, created.id), 404, 'not-found');
  });
});

describe('who may manage keys', () => {
  for (const role of ['member', 'viewer'] as const) {
    it(`returns 403 to a ${role} who lists or creates keys`, async () => {
      const token = await tokenWithRole(role);
      expectProblem(await listKeys(token), 403, 'forbidden');
      const before = await rowCounts(testApp.database.admin);
      expectProblem(await createKey(token), 403, 'forbidden');
      expect(await rowCounts(testApp.database.admin)).toEqual(before);
    });
  }

  it('returns 403 to a member-role API key that lists keys', async () => {
    const memberKey = (await createKey(tenantA.accessToken, { name: 'member key', role: 'member' })).json().key;
    expectProblem(await listKeys(memberKey), 403, 'forbidden');
  });
});

describe('across tenants', () => {
  it('returns 403 tenant-mismatch when a key of tenant A names tenant B by id or slug', async () => {
    expectProblem(await listKeys(tenantA.apiKey, { 'x-tenant-id': tenantB.tenantId }), 403, 'tenant-mismatch');
    expectProblem(await listKeys(tenantA.apiKey, { 'x-tenant-id': tenantB.slug }), 403, 'tenant-mismatch');
  });

  it("lists only the caller's own tenant's keys", async () => {
    const aKeys = (await listKeys(tenantA.accessToken)).json().data.map((k: { id: string }) => k.id);
    const bKeys = (await listKeys(tenantB.accessToken)).json().data.map((k: { id: string }) => k.id);
    expect(aKeys.filter((id: string) => bKeys.includes(id))).toEqual([]);
    expect(bKeys).toHaveLength(1);
  });

  it("returns 404 when tenant B's admin revokes tenant A's key, and the key keeps working", async () => {
    const created = (await createKey(tenantA.accessToken, { name: 'A only' })).json();
    expectProblem(await revokeKey(tenantB.accessToken, created.id), 404, 'not-found');
    const { rows } = await testApp.database.admin.query('SELECT revoked_at FROM api_keys WHERE id = $1', [created.id]);
    expect(rows).toEqual([{ revoked_at: null }]);
    const use = await testApp.app.inject({ method: 'GET', url: '/v1/members', headers: bearer(created.key) });
    expect(use.statusCode).toBe(200);
  });

  it('returns 401 for a key-shaped bearer that was never issued', async () => {
    const forged = `tnt_${'a'.repeat(16)}_${'b'.repeat(43)}`;
    expectProblem(await listKeys(forged), 401, 'invalid-credentials');
  });
});

describe("agent keys and the plan's agents limit", () => {
  const agent = (name = 'agent') => ({ name, kind: 'agent' });

  async function liveAgentKeys(tenant: SignedUpTenant): Promise<number> {
    const { rows } = await testApp.database.admin.query(
      "SELECT count(*)::int AS n FROM api_keys WHERE tenant_id = $1 AND kind = 'agent' AND revoked_at IS NULL",
      [tenant.tenantId],
    );
    return rows[0].n;
  }

  it('refuses a free tenant its second agent key with 403 plan-limit-reached and the plan to upgrade to, and writes no key', async () => {
    const tenant = await signUp(testApp.app);
    expect((await createKey(tenant.accessToken, agent('first'))).statusCode).toBe(201);
    const refused = await createKey(tenant.accessToken, agent('second'));
    expect(expectProblem(refused, 403, 'plan-limit-reached')).toMatchObject({ metric: 'agents', limit: 1, current: 1, required_plan: 'pro' });
    expect(await liveAgentKeys(tenant)).toBe(1);
  });

  it('does not count keys of kind user', async () => {
    const tenant = await signUp(testApp.app);
    for (const name of ['ci', 'deploy', 'backup']) expect((await createKey(tenant.accessToken, { name })).statusCode).toBe(201);
    expect((await createKey(tenant.accessToken, agent())).statusCode).toBe(201);
  });

  it('frees the place of a revoked agent key, also one revoked with the key that minted it', async () => {
    const tenant = await signUp(testApp.app);
    const first = (await createKey(tenant.accessToken, agent('first'))).json();
    expect((await revokeKey(tenant.accessToken, first.id)).statusCode).toBe(204);
    const minter = (await createKey(tenant.accessToken, { name: 'minter', role: 'admin' })).json();
    expect((await createKey(minter.key, agent('minted'))).statusCode).toBe(201);
    expectProblem(await createKey(tenant.accessToken, agent('one too many')), 403, 'plan-limit-reached');
    expect((await revokeKey(tenant.accessToken, minter.id)).statusCode).toBe(204);
    expect((await createKey(tenant.accessToken, agent('after the revocations'))).statusCode).toBe(201);
    const { rows } = await testApp.database.admin.query(
      "SELECT quantity::int FROM usage_events WHERE tenant_id = $1 AND metric = 'agents' ORDER BY created_at, quantity",
      [tenant.tenantId],
    );
    expect(rows.map((row) => row.quantity)).toEqual([1, 0, 1, 0, 1]);
  });

  it('does not count an expired agent key', async () => {
    const tenant = await signUp(testApp.app);
    const expiring = (await createKey(tenant.accessToken, agent('expiring'))).json();
    await testApp.database.admin.query("UPDATE api_keys SET expires_at = now() - interval '1 minute' WHERE id = $1", [expiring.id]);
    expect((await createKey(tenant.accessToken, agent('its successor'))).statusCode).toBe(201);
  });

  it('creates exactly one of 20 concurrent agent keys for the last place', async () => {
    const tenant = await signUp(testApp.app);
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => createKey(tenant.accessToken, agent(`racer ${i}`))));
    expect(responses.filter((response) => response.statusCode === 201)).toHaveLength(1);
    expect(responses.filter((response) => response.statusCode === 403)).toHaveLength(19);
    expect(await liveAgentKeys(tenant)).toBe(1);
  });
});

// Last in the file: moving the clock past an hour also expires the access tokens above.
describe('expiry', () => {
  it('stops a key working once its expiresAt has passed', async () => {
    const expiresAt = new Date(testApp.clock.now().getTime() + 3_600_000).toISOString();
    const created = (await createKey(tenantA.accessToken, { name: 'short-lived', expiresAt })).json();
    const use = () => testApp.app.inject({ method: 'GET', url: '/v1/members', headers: bearer(created.key) });
    expect((await use()).statusCode).toBe(200);
    testApp.clock.advance(3_601);
    expectProblem(await use(), 401, 'invalid-credentials');
  });
});
