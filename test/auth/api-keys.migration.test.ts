// Migration 0007 on data stored before it: a live key with no creator (what minting a key
// with a key used to store) stops working and its tenant's audit log says why; keys with a
// creator are left as they were.

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateDown, migrateUp } from '../support/migrate-down.js';
import { seedTenant, type SeededTenant } from '../support/seed.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

let database: TestDatabase;
let tenant: SeededTenant;

beforeAll(async () => {
  database = await createTestDatabase();
  tenant = await seedTenant(database.admin, 'Legacy');
});

afterAll(async () => {
  await database.drop();
});

describe('migration 0007 (every live API key has a creator)', () => {
  it('revokes live keys without a creator, audits it, and leaves the others alone', async () => {
    const undone = await migrateDown(database.url, '0007_api_key_creators');
    const orphan = randomUUID();
    await database.admin.query(
      `INSERT INTO api_keys (tenant_id, id, prefix, secret_hash, name, role) VALUES ($1, $2, $3, '\\x00', 'minted by a key', 'admin')`,
      [tenant.tenantId, orphan, randomUUID().replace(/-/g, '').slice(0, 16)],
    );

    expect(await migrateUp(database.url)).toEqual(undone);

    const { rows } = await database.admin.query('SELECT id, revoked_at IS NOT NULL AS revoked FROM api_keys WHERE tenant_id = $1 ORDER BY name', [tenant.tenantId]);
    expect(rows).toEqual([
      { id: tenant.apiKeyId, revoked: false },
      { id: orphan, revoked: true },
    ]);
    // Every audit entry but the one the seed wrote.
    const { rows: audit } = await database.admin.query('SELECT actor, action, target, after FROM audit_log WHERE tenant_id = $1 AND id <> $2', [
      tenant.tenantId,
      tenant.auditLogId,
    ]);
    expect(audit).toEqual([
      { actor: 'system', action: 'api_key.revoked', target: `api_key:${orphan}`, after: { revoked: true, reason: 'the key has no creator to answer for it' } },
    ]);
  });
});
