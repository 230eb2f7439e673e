// The reads migration 0010 closed, with the query filter out of the way: raw SQL as the app
// role (RLS alone), and the app's Database with queryFilter off. From tenant A's scope,
// tenant B's profile, its people and everyone's sessions are out of reach; what resolution
// and sign-in need is reachable only as the named lookups.

import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findCredentialsByEmail } from '../../src/accounts/user-repository.js';
import { createPool, Database, platformTx } from '../../src/db/database.js';
import { newId } from '../../src/db/ids.js';
import { runWithContext } from '../../src/tenancy/context.js';
import { silent } from '../support/isolation-harness.js';
import { patient } from '../support/pools.js';
import { TEST_ROLES } from '../support/roles.js';
import { seedTenant, type SeededTenant } from '../support/seed.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { TEST_REGISTRY, type TestTables } from '../support/modules.js';

let database: TestDatabase;
let pool: pg.Pool;
let rlsOnly: Database<TestTables>;
let a: SeededTenant;
let b: SeededTenant;
/** Tenant B's live member who belongs to no other tenant. */
let bMember: { id: string; email: string };
/** A's owner's session, and a session of B's member. */
let aSession: { familyId: string; refreshHash: Buffer };
let bSession: { familyId: string; refreshHash: Buffer };

async function insertSession(userId: string, tenantId: string): Promise<{ familyId: string; refreshHash: Buffer }> {
  const familyId = newId();
  const refreshHash = createHash('sha256').update(randomBytes(32)).digest();
  await database.admin.query(
    `INSERT INTO sessions (id, family_id, token_hash, user_id, active_tenant_id, expires_at) VALUES ($1, $2, $3, $4, $5, now() + interval '1 day')`,
    [newId(), familyId, refreshHash, userId, tenantId],
  );
  return { familyId, refreshHash };
}

beforeAll(async () => {
  database = await createTestDatabase();
  pool = patient(createPool(database.url, 2, silent));
  rlsOnly = new Database<TestTables>({ modules: TEST_REGISTRY, pool, roles: TEST_ROLES, logger: silent, queryFilter: false });
  a = await seedTenant(database.admin, 'A');
  b = await seedTenant(database.admin, 'B');
  await database.admin.query(
    `UPDATE tenants SET plan = 'pro', subdomain = $2, settings = '{"webhookUrl": "https://b.example.test/secret-hook"}',
            branding = '{"primaryColor": "#bb0000"}' WHERE id = $1`,
    [b.tenantId, `sub-${b.tenantId.slice(-8)}`],
  );
  await database.admin.query(`UPDATE users SET password_hash = 'argon2-hash-of-' || id WHERE id IN ($1, $2)`, [a.userId, b.userId]);
  bMember = { id: newId(), email: `member-${b.tenantId.slice(-8)}@example.test` };
  await database.admin.query(`INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, 'B member', 'argon2-hash-b-member')`, [
    bMember.id,
    bMember.email,
  ]);
  await database.admin.query(`INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, 'member')`, [b.tenantId, bMember.id]);
  aSession = await insertSession(a.userId, a.tenantId);
  bSession = await insertSession(bMember.id, b.tenantId);
});

afterAll(async () => {
  await pool.end();
  await database.drop();
});

type Query = (text: string, values?: unknown[]) => Promise<pg.QueryResult>;

/**
 * Raw SQL as the app role, no query filter anywhere, with the given app.* settings set the
 * way a unit of work sets them (SET LOCAL). Always rolled back.
 */
async function asApp<T>(settings: Record<string, string>, work: (query: Query) => Promise<T>): Promise<T> {
  const client = await database.admin.connect();
  try {
    await client.query(`BEGIN; SET LOCAL ROLE "${TEST_ROLES.app}"`);
    for (const [name, value] of Object.entries(settings)) await client.query(`SET LOCAL app.${name} = '${value}'`);
    return await work((text, values) => client.query(text, values));
  } finally {
    await client.query('ROLLBACK').catch(() => {});
    client.release();
  }
}

const inA = () => ({ tenant_id: a.tenantId });
const hex = (value: string) => Buffer.from(value, 'utf8').toString('hex');

describe("from tenant A's scope, tenant B's row in tenants", () => {
  it('cannot be read: no plan, settings (webhook URL), branding or name of B, however it is asked for', async () => {
    await asApp(inA(), async (query) => {
      expect((await query('SELECT id FROM tenants')).rows).toEqual([{ id: a.tenantId }]);
      expect((await query('SELECT plan, settings, branding, name FROM tenants WHERE id = $1', [b.tenantId])).rows).toEqual([]);
      expect((await query(`SELECT count(*)::int AS n FROM tenants WHERE settings::text LIKE '%secret-hook%'`)).rows).toEqual([{ n: 0 }]);
      // Its own row is whole.
      expect((await query('SELECT plan, settings FROM tenants WHERE id = $1', [a.tenantId])).rows).toEqual([{ plan: 'free', settings: {} }]);
    });
  });

  it('shows in tenant_registry with the four fields resolution needs and nothing else', async () => {
    await asApp(inA(), async (query) => {
      const result = await query('SELECT * FROM tenant_registry WHERE id = $1', [b.tenantId]);
      expect(result.fields.map((field) => field.name)).toEqual(['id', 'slug', 'subdomain', 'status']);
      const { rows } = await database.admin.query('SELECT id, slug, subdomain, status FROM tenants WHERE id = $1', [b.tenantId]);
      expect(result.rows).toEqual(rows);
    });
  });

  it('is not in tenant_registry once B is soft-deleted', async () => {
    const deleted = await seedTenant(database.admin, 'Deleted');
    await database.admin.query(`UPDATE tenants SET status = 'deleted', deleted_at = now() WHERE id = $1`, [deleted.tenantId]);
    await asApp(inA(), async (query) => {
      expect((await query('SELECT id FROM tenant_registry WHERE id = $1', [deleted.tenantId])).rows).toEqual([]);
    });
  });

  it('cannot be changed', async () => {
    await asApp(inA(), async (query) => {
      expect((await query(`UPDATE tenants SET plan = 'free' WHERE id = $1`, [b.tenantId])).rowCount).toBe(0);
    });
    const { rows } = await database.admin.query('SELECT plan FROM tenants WHERE id = $1', [b.tenantId]);
    expect(rows).toEqual([{ plan: 'pro' }]);
  });
});

describe('tenants outside any tenant scope', () => {
  it('are invisible, except to a named user, who sees the tenants they are a live member of', async () => {
    await asApp({}, async (query) => {
      expect((await query('SELECT id FROM tenants')).rows).toEqual([]);
    });
    await asApp({ user_id: a.userId }, async (query) => {
      expect((await query('SELECT id FROM tenants')).rows).toEqual([{ id: a.tenantId }]);
    });
    await asApp({ user_id: bMember.id }, async (query) => {
      expect((await query('SELECT id FROM tenants')).rows).toEqual([{ id: b.tenantId }]);
    });
  });
});

describe("from tenant A's scope, users", () => {
  it("are A's live members only: the email of B's member is invisible", async () => {
    await asApp(inA(), async (query) => {
      expect((await query('SELECT id, email FROM users ORDER BY id')).rows).toEqual([{ id: a.userId, email: expect.stringContaining('@') }]);
      expect((await query('SELECT email FROM users WHERE id = $1', [bMember.id])).rows).toEqual([]);
      expect((await query('SELECT count(*)::int AS n FROM users WHERE lower(email) = lower($1)', [bMember.email])).rows).toEqual([{ n: 0 }]);
    });
  });

  it('lose a member once the membership is removed', async () => {
    const removed = newId();
    await database.admin.query(`INSERT INTO users (id, email) VALUES ($1, $2)`, [removed, `removed-${removed}@example.test`]);
    await database.admin.query(`INSERT INTO memberships (tenant_id, user_id, role, deleted_at) VALUES ($1, $2, 'member', now())`, [
      a.tenantId,
      removed,
    ]);
    await asApp(inA(), async (query) => {
      expect((await query('SELECT id FROM users WHERE id = $1', [removed])).rows).toEqual([]);
    });
  });

  it("cannot be changed or created for someone the unit does not name", async () => {
    await asApp(inA(), async (query) => {
      expect((await query(`UPDATE users SET name = 'taken over' WHERE id = $1`, [a.userId])).rowCount).toBe(0);
      await expect(query(`INSERT INTO users (id, email) VALUES ($1, 'new@example.test')`, [newId()])).rejects.toThrow(/row-level security/);
    });
  });
});

describe('password hashes', () => {
  it('are unreadable by the app role even for the user the unit names (no column privilege)', async () => {
    for (const settings of [{ user_id: a.userId }, { ...inA(), user_id: a.userId }]) {
      await asApp(settings, async (query) => {
        await expect(query('SELECT password_hash FROM users WHERE id = $1', [a.userId])).rejects.toThrow(/permission denied/);
      });
      await asApp(settings, async (query) => {
        await expect(query('SELECT * FROM users')).rejects.toThrow(/permission denied/);
      });
      await asApp(settings, async (query) => {
        await expect(query(`UPDATE users SET name = name WHERE password_hash IS NOT NULL`)).rejects.toThrow(/permission denied/);
      });
    }
  });

  it('are readable only through user_credentials, one account, by the email the unit names, outside a tenant', async () => {
    await asApp({}, async (query) => {
      expect((await query('SELECT id FROM user_credentials')).rows).toEqual([]);
    });
    await asApp({ user_id: a.userId }, async (query) => {
      expect((await query('SELECT id FROM user_credentials')).rows).toEqual([]);
    });
    await asApp({ user_email: hex(bMember.email.toUpperCase()) }, async (query) => {
      expect((await query('SELECT id, status, password_hash FROM user_credentials')).rows).toEqual([
        { id: bMember.id, status: 'active', password_hash: 'argon2-hash-b-member' },
      ]);
    });
    // Inside a tenant the lookup is off, even for the tenant's own member.
    await asApp({ ...inA(), user_email: hex(bMember.email) }, async (query) => {
      expect((await query('SELECT id FROM user_credentials')).rows).toEqual([]);
    });
  });

  it('reach the app only through the credentials lookup, also with the query filter off', async () => {
    expect(await rlsOnly.identity({ email: bMember.email }, (tx) => findCredentialsByEmail(platformTx(tx)))).toEqual({
      id: bMember.id,
      status: 'active',
      passwordHash: 'argon2-hash-b-member',
    });
    expect(await rlsOnly.identity({}, (tx) => findCredentialsByEmail(platformTx(tx)))).toBeUndefined();
    const seen = await runWithContext({ requestId: 'attack', tenantId: a.tenantId }, () =>
      rlsOnly.tenant((tx) => tx.selectFrom('users').select(['id', 'email']).execute()),
    );
    expect(seen.map((user) => user.id)).toEqual([a.userId]);
  });
});

describe('sessions', () => {
  it("are unreadable from a tenant scope: not A's own user's, not anyone's", async () => {
    await asApp(inA(), async (query) => {
      expect((await query('SELECT count(*)::int AS n FROM sessions')).rows).toEqual([{ n: 0 }]);
      expect((await query('UPDATE sessions SET revoked_at = now()')).rowCount).toBe(0);
    });
    const seen = await runWithContext({ requestId: 'attack', tenantId: a.tenantId }, () =>
      rlsOnly.tenant((tx) => tx.selectFrom('sessions').select('id').execute()),
    );
    expect(seen).toEqual([]);
  });

  it('are unreadable to a unit that names only a user', async () => {
    await asApp({ user_id: a.userId }, async (query) => {
      expect((await query('SELECT count(*)::int AS n FROM sessions')).rows).toEqual([{ n: 0 }]);
    });
  });

  it('show exactly the session of a named refresh token, or the family of a named user', async () => {
    await asApp({ refresh_token_hash: bSession.refreshHash.toString('hex') }, async (query) => {
      expect((await query('SELECT user_id FROM sessions')).rows).toEqual([{ user_id: bMember.id }]);
    });
    await asApp({ user_id: a.userId, session_family_id: aSession.familyId }, async (query) => {
      expect((await query('SELECT user_id, family_id FROM sessions')).rows).toEqual([{ user_id: a.userId, family_id: aSession.familyId }]);
    });
    // Another user's family, named with your own user id, shows nothing.
    await asApp({ user_id: a.userId, session_family_id: bSession.familyId }, async (query) => {
      expect((await query('SELECT count(*)::int AS n FROM sessions')).rows).toEqual([{ n: 0 }]);
    });
  });

  it('can be created only for the user the unit names', async () => {
    await asApp({ user_id: a.userId }, async (query) => {
      await expect(
        query(
          `INSERT INTO sessions (id, family_id, token_hash, user_id, expires_at) VALUES ($1, $2, $3, $4, now() + interval '1 day')`,
          [newId(), newId(), randomBytes(32), bMember.id],
        ),
      ).rejects.toThrow(/row-level security/);
    });
  });
});
