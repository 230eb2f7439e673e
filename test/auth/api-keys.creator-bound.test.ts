// An API key acts for the person who created it: it dies when they leave the tenant and
// never outranks their current role. A key minted by another key inherits that person, so
// no chain of keys outlives them, and never exceeds the minting key's role, scopes or expiry.
// Revoking a key revokes what it minted. Keys nobody can answer for do not work.

import { randomUUID } from 'node:crypto';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addNewMember, bearer, expectProblem, signUp, type MemberRole, type SignedUpTenant } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let testApp: TestApp;

beforeAll(async () => {
  testApp = await startTestApp();
});

afterAll(async () => {
  await testApp.close();
});

function inject(options: InjectOptions): Promise<LightMyRequestResponse> {
  return testApp.app.inject(options);
}

function createKey(credential: string, payload: Record<string, unknown>) {
  return inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(credential), payload: { name: 'key', ...payload } });
}

async function mint(credential: string, payload: Record<string, unknown> = {}): Promise<{ id: string; key: string; createdBy: string; createdByKeyId: string | null }> {
  const response = await createKey(credential, { role: 'admin', ...payload });
  expect(response.statusCode, response.body).toBe(201);
  return response.json();
}

/** A write only an admin may do: create a key. */
const adminWrite = (credential: string) => createKey(credential, { name: `probe-${randomUUID().slice(0, 6)}`, role: 'viewer' });
/** A write a member may do: create a project. */
const memberWrite = (credential: string) =>
  inject({ method: 'POST', url: '/v1/projects', headers: bearer(credential), payload: { name: `p-${randomUUID().slice(0, 8)}` } });
const read = (credential: string) => inject({ method: 'GET', url: '/v1/projects', headers: bearer(credential) });

async function tenantWithAdmin(): Promise<{ tenant: SignedUpTenant; admin: { userId: string; accessToken: string } }> {
  const tenant = await signUp(testApp.app);
  const admin = await addNewMember(testApp.app, tenant.accessToken, 'admin', { name: 'Soon Gone' });
  return { tenant, admin };
}

function changeRole(tenant: SignedUpTenant, userId: string, role: MemberRole) {
  return inject({ method: 'PATCH', url: `/v1/members/${userId}`, headers: bearer(tenant.accessToken), payload: { role } });
}

describe('an admin API key whose creator has been removed from the tenant', () => {
  it('stops working', async () => {
    const { tenant, admin } = await tenantWithAdmin();
    const k1 = await mint(admin.accessToken);
    const removed = await inject({ method: 'DELETE', url: `/v1/members/${admin.userId}`, headers: bearer(tenant.accessToken) });
    expect(removed.statusCode).toBe(204);
    expectProblem(await adminWrite(k1.key), 401, 'invalid-credentials');
  });
});

describe('a key minted by another key', () => {
  it("belongs to the minting key's creator, and dies with their membership however long the chain", async () => {
    const { tenant, admin } = await tenantWithAdmin();
    const k1 = await mint(admin.accessToken);
    const k2 = await mint(k1.key);
    const k3 = await mint(k2.key);
    expect(k2).toMatchObject({ createdBy: admin.userId, createdByKeyId: k1.id });
    expect(k3).toMatchObject({ createdBy: admin.userId, createdByKeyId: k2.id });
    expect((await adminWrite(k2.key)).statusCode).toBe(201);

    const removed = await inject({ method: 'DELETE', url: `/v1/members/${admin.userId}`, headers: bearer(tenant.accessToken) });
    expect(removed.statusCode).toBe(204);
    for (const key of [k1, k2, k3]) {
      expectProblem(await read(key.key), 401, 'invalid-credentials');
      expectProblem(await adminWrite(key.key), 401, 'invalid-credentials');
    }
  });

  it("follows its creator's role down: admin, then member, then viewer", async () => {
    const { tenant, admin } = await tenantWithAdmin();
    const k1 = await mint(admin.accessToken);
    const k2 = await mint(k1.key);

    expect((await changeRole(tenant, admin.userId, 'member')).statusCode).toBe(200);
    expectProblem(await adminWrite(k2.key), 403, 'forbidden');
    expect((await memberWrite(k2.key)).statusCode).toBe(201);

    expect((await changeRole(tenant, admin.userId, 'viewer')).statusCode).toBe(200);
    expectProblem(await memberWrite(k2.key), 403, 'forbidden');
    expectProblem(await memberWrite(k1.key), 403, 'forbidden');
    expect((await read(k2.key)).statusCode).toBe(200);
  });

  it("never exceeds the minting key's role, scopes or expiry", async () => {
    const { admin } = await tenantWithAdmin();
    const expiry = new Date(Date.now() + 3_600_000).toISOString();
    const scoped = await mint(admin.accessToken, { scopes: ['metering:write', 'tasks:*'], expiresAt: expiry });

    expect(await mint(scoped.key, { scopes: ['tasks:read', 'metering:write'] })).toMatchObject({ scopes: ['tasks:read', 'metering:write'] });
    expectProblem(await createKey(scoped.key, { role: 'admin', scopes: ['audit:read'] }), 403, 'forbidden');
    expectProblem(await createKey(scoped.key, { role: 'admin', scopes: ['metering:*'] }), 403, 'forbidden');
    // Without expiresAt it expires with the minting key; a later one is refused.
    const inherited = await mint(scoped.key);
    const listed = (await inject({ method: 'GET', url: '/v1/api-keys', headers: bearer(admin.accessToken) })).json().data;
    expect(listed.find((key: { id: string }) => key.id === inherited.id).expiresAt).toBe(expiry);
    const later = new Date(Date.now() + 7_200_000).toISOString();
    expectProblem(await createKey(scoped.key, { role: 'admin', expiresAt: later }), 403, 'forbidden');

    const unscoped = await mint(admin.accessToken);
    expectProblem(await createKey(unscoped.key, { role: 'admin', scopes: ['metering:write'] }), 403, 'forbidden');
  });

  it('is revoked with the key that minted it', async () => {
    const { admin } = await tenantWithAdmin();
    const k1 = await mint(admin.accessToken);
    const k2 = await mint(k1.key);
    const k3 = await mint(k2.key);
    const sibling = await mint(admin.accessToken);
    const revoked = await inject({ method: 'DELETE', url: `/v1/api-keys/${k1.id}`, headers: bearer(admin.accessToken) });
    expect(revoked.statusCode).toBe(204);
    for (const key of [k1, k2, k3]) expectProblem(await read(key.key), 401, 'invalid-credentials');
    expect((await read(sibling.key)).statusCode).toBe(200);
  });
});

describe('keys that trace to no person', () => {
  it('cannot be stored live: the schema refuses a key without a creator unless it is revoked', async () => {
    const { tenant } = await tenantWithAdmin();
    const insert = (revoked: boolean) =>
      testApp.database.admin.query(
        `INSERT INTO api_keys (tenant_id, id, prefix, secret_hash, name, revoked_at) VALUES ($1, $2, $3, '\\x00', 'orphan', $4)`,
        [tenant.tenantId, randomUUID(), randomUUID().replace(/-/g, '').slice(0, 16), revoked ? new Date() : null],
      );
    await expect(insert(false)).rejects.toThrow(/api_keys_live_key_has_creator/);
    await expect(insert(true)).resolves.toBeDefined();
  });
});
