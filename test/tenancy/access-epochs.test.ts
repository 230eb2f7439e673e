// The access epochs (migration 0023): every change a cached access depends on moves its slot's
// epoch in the same transaction, and nothing else does; a request's check answers from the
// epochs while they stand still and re-reads the access once they move. The refusals
// themselves are tested in access-cache.test.ts, through the bus and behind it.

import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { addNewMember, bearer, expectProblem, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { TEST_ROLES } from '../support/roles.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const USER = 0;
const KEY = 1;
const TENANT = 2;

let app: TestApp;
let admin: pg.Pool;
let tenant: SignedUpTenant;

beforeAll(async () => {
  app = await startTestApp();
  admin = app.database.admin;
  tenant = await signUp(app.app);
});

afterAll(async () => {
  await app?.close();
});

async function epoch(kind: number, id: string): Promise<number> {
  const { rows } = await admin.query<{ epoch: string }>(
    'SELECT epoch FROM tenantry_access.epochs WHERE slot = tenantry_access.slot($1, $2)',
    [kind, id],
  );
  return Number(rows[0]!.epoch);
}

/** How far `change` moved the epoch of `kind`'s slot of `id`. */
async function moved(kind: number, id: string, change: string, values: unknown[] = []): Promise<number> {
  const before = await epoch(kind, id);
  await admin.query(change, values);
  return (await epoch(kind, id)) - before;
}

/** Runs `work` in a transaction on one connection of the administrative login; rolls back unless `commit`. */
async function inTransaction(work: (client: pg.PoolClient) => Promise<void>, commit = false): Promise<void> {
  const client = await admin.connect();
  try {
    await client.query('BEGIN');
    await work(client);
    await client.query(commit ? 'COMMIT' : 'ROLLBACK');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
}

/** Runs `change` with triggers off, as a bulk load does: a change no epoch hears of. */
async function unheard(change: string, values: unknown[]): Promise<void> {
  await inTransaction(async (client) => {
    await client.query('SET LOCAL session_replication_role = replica');
    await client.query(change, values);
  }, true);
}

const members = (token: string) => app.app.inject({ method: 'GET', url: '/v1/members', headers: bearer(token) });

describe('what moves an epoch', () => {
  it('a slot is the kind and the last ten bits of the id', async () => {
    const { rows } = await admin.query<{ slot: number }>(
      `SELECT tenantry_access.slot(2, '00000000-0000-4000-8000-000000000bff') AS slot`,
    );
    expect(rows[0]!.slot).toBe(2 * 1024 + 0x3ff);
    const { rows: count } = await admin.query<{ n: string }>('SELECT count(*) AS n FROM tenantry_access.epochs');
    expect(Number(count[0]!.n)).toBe(3 * 1024);
  });

  it("a tenant's plan, status and deletion, not its name", async () => {
    const t = await signUp(app.app);
    const id = t.tenantId;
    expect(await moved(TENANT, id, `UPDATE tenants SET name = 'Renamed' WHERE id = $1`, [id])).toBe(0);
    expect(await moved(TENANT, id, `UPDATE tenants SET plan = 'pro' WHERE id = $1`, [id])).toBe(1);
    expect(await moved(TENANT, id, `UPDATE tenants SET status = 'suspended' WHERE id = $1`, [id])).toBe(1);
    expect(await moved(TENANT, id, `UPDATE tenants SET status = 'active', deleted_at = now() WHERE id = $1`, [id])).toBe(1);
  });

  it("a session revoked, its expiry changed or the session deleted; not its rotation", async () => {
    const member = await addNewMember(app.app, tenant.accessToken, 'member');
    const user = member.userId;
    expect(await moved(USER, user, 'UPDATE sessions SET rotated_at = now() WHERE user_id = $1', [user])).toBe(0);
    expect(await moved(USER, user, `UPDATE sessions SET expires_at = expires_at + interval '1 day' WHERE user_id = $1`, [user])).toBe(1);
    expect(await moved(USER, user, 'UPDATE sessions SET revoked_at = now() WHERE user_id = $1', [user])).toBe(1);
    expect(await moved(USER, user, 'DELETE FROM sessions WHERE user_id = $1', [user])).toBe(1);
  });

  it("a membership's role or removal, for its user", async () => {
    const member = await addNewMember(app.app, tenant.accessToken, 'member');
    const user = member.userId;
    expect(await moved(USER, user, `UPDATE memberships SET role = 'viewer' WHERE user_id = $1`, [user])).toBe(1);
    expect(await moved(USER, user, `UPDATE memberships SET role = 'viewer' WHERE user_id = $1`, [user])).toBe(0);
    expect(await moved(USER, user, 'UPDATE memberships SET deleted_at = now() WHERE user_id = $1', [user])).toBe(1);
    expect(await moved(USER, user, 'DELETE FROM memberships WHERE user_id = $1', [user])).toBe(1);
  });

  it("a key's expiry, role, revocation or deletion; not its use", async () => {
    const key = (
      await app.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(tenant.accessToken), payload: { name: 'epochs', role: 'viewer' } })
    ).json() as { id: string };
    const id = key.id;
    expect(await moved(KEY, id, 'UPDATE api_keys SET last_used_at = now() WHERE id = $1', [id])).toBe(0);
    expect(await moved(KEY, id, `UPDATE api_keys SET expires_at = now() + interval '1 day' WHERE id = $1`, [id])).toBe(1);
    expect(await moved(KEY, id, `UPDATE api_keys SET role = 'member' WHERE id = $1`, [id])).toBe(1);
    expect(await moved(KEY, id, 'UPDATE api_keys SET revoked_at = now() WHERE id = $1', [id])).toBe(1);
    expect(await moved(KEY, id, 'DELETE FROM api_keys WHERE id = $1', [id])).toBe(1);
  });

  it('a TRUNCATE moves every epoch', async () => {
    const unmoved = 'SELECT count(*) AS n FROM tenantry_access.epochs WHERE epoch = 0';
    await inTransaction(async (client) => {
      expect(Number((await client.query<{ n: string }>(unmoved)).rows[0]!.n)).toBeGreaterThan(0);
      await client.query('TRUNCATE api_keys CASCADE');
      expect(Number((await client.query<{ n: string }>(unmoved)).rows[0]!.n)).toBe(0);
    });
  });

  it('only the owner writes epochs: the request role may read them, not move or set them back', async () => {
    const asApp = (statement: string) =>
      inTransaction(async (client) => {
        await client.query(`SET LOCAL ROLE "${TEST_ROLES.app}"`);
        await client.query(statement);
      });
    await asApp('SELECT epoch FROM tenantry_access.epochs LIMIT 1');
    await expect(asApp('UPDATE tenantry_access.epochs SET epoch = 0')).rejects.toMatchObject({ code: '42501' });
    await expect(asApp('SELECT tenantry_access.bump(ARRAY[0])')).rejects.toMatchObject({ code: '42501' });
  });
});

describe('what a request checks', () => {
  // A tenant per test: the free plan's seats run out.
  let tenant: SignedUpTenant;
  beforeEach(async () => {
    tenant = await signUp(app.app);
  });

  it('while its epochs stand still, a cached access is confirmed from them alone; once they move, from its rows', async () => {
    const member = await addNewMember(app.app, tenant.accessToken, 'member');
    expect((await members(member.accessToken)).statusCode).toBe(200); // read, cached
    expect((await members(member.accessToken)).statusCode).toBe(200); // checked in full: the entry learns its epochs
    // Revoked with the triggers off: no epoch moves, and the check does not read the session.
    await unheard('UPDATE sessions SET revoked_at = now() WHERE user_id = $1', [member.userId]);
    expect((await members(member.accessToken)).statusCode).toBe(200);
    // Any change in the user's slot (here, none at all) sends the next check to the rows.
    await admin.query('SELECT tenantry_access.bump(ARRAY[tenantry_access.slot(0, $1)])', [member.userId]);
    expectProblem(await members(member.accessToken), 401, 'invalid-credentials');
  });

  it("a move of the tenant's epoch costs a full check, not a refusal, and the entry is confirmed from its epochs again", async () => {
    const member = await addNewMember(app.app, tenant.accessToken, 'member');
    expect((await members(member.accessToken)).statusCode).toBe(200);
    expect((await members(member.accessToken)).statusCode).toBe(200);
    await admin.query('SELECT tenantry_access.bump(ARRAY[tenantry_access.slot(2, $1)])', [tenant.tenantId]);
    expect((await members(member.accessToken)).statusCode).toBe(200);
    await unheard(`UPDATE memberships SET role = 'viewer' WHERE user_id = $1`, [member.userId]);
    expect((await members(member.accessToken)).statusCode).toBe(200);
  });

  it('a cached access ends when its session expires, though no epoch moved', async () => {
    const member = await addNewMember(app.app, tenant.accessToken, 'member');
    // Shortened with the triggers off, before the access is first read: only the cache's own
    // clock can end the entry (the cache counts real time, as the test clock does unmoved).
    const expiresAt = new Date(app.clock.now().getTime() + 1_500);
    await unheard('UPDATE sessions SET expires_at = $2 WHERE user_id = $1', [member.userId, expiresAt]);
    expect((await members(member.accessToken)).statusCode).toBe(200);
    expect((await members(member.accessToken)).statusCode).toBe(200);
    await sleep(expiresAt.getTime() - app.clock.now().getTime() + 100);
    expectProblem(await members(member.accessToken), 401, 'invalid-credentials');
  });
});
