// Migration 0008 on a catalog as 0002 seeded it: memories leaves every plan's limits, tasks
// gets its limits (an operator's own tasks value is kept), the sso flag goes with its plan
// default and tenant overrides, every change is in the platform audit log, and Down puts
// the old catalog back.

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateDown, migrateUp } from '../support/migrate-down.js';
import { seedTenant, type SeededTenant } from '../support/seed.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

let database: TestDatabase;
let tenant: SeededTenant;

beforeAll(async () => {
  database = await createTestDatabase();
  tenant = await seedTenant(database.admin, 'Catalog');
});

afterAll(async () => {
  await database.drop();
});

/**
 * A plan's limits without the keys later modules' own migrations add (migrateDown takes back
 * the platform's migrations only, so those keys stay through this test and are not 0008's).
 */
function platformLimits(limits: Record<string, unknown>): Record<string, unknown> {
  const { realtime_connections: _realtime, ...rest } = limits;
  return rest;
}

async function limits(): Promise<Record<string, unknown>> {
  const { rows } = await database.admin.query('SELECT key, limits FROM plans ORDER BY sort_order');
  return Object.fromEntries(rows.map((row) => [row.key, platformLimits(row.limits)]));
}

async function rows(sql: string, params: unknown[] = []): Promise<unknown[]> {
  return (await database.admin.query(sql, params)).rows;
}

describe('migration 0008 (plans promise only what is enforced)', () => {
  it('rewrites the catalog, keeps an operator tasks limit, audits every change, and Down restores the old one', async () => {
    const undone = await migrateDown(database.url, '0008_plans_promise_what_is_enforced');
    const seeded = await limits();
    expect(seeded.free).toEqual({ memories: 1000, agents: 1, seats: 3 });
    await database.admin.query(`UPDATE plans SET limits = limits || '{"tasks": 12345}' WHERE key = 'pro'`);
    await database.admin.query(`INSERT INTO flag_overrides (tenant_id, id, flag_key, value, created_by) VALUES ($1, $2, 'sso', 'true', 'operator')`, [
      tenant.tenantId,
      randomUUID(),
    ]);

    // The template ran 0008 once already; its audit rows stay (Down does not erase history).
    const [{ since }] = (await rows('SELECT clock_timestamp() AS since')) as [{ since: Date }];
    expect(await migrateUp(database.url)).toEqual(undone);

    expect(await limits()).toEqual({
      free: { seats: 3, agents: 1, tasks: 1000 },
      pro: { seats: 20, agents: 5, tasks: 12345 },
      promax: { seats: null, agents: null, tasks: null },
      enterprise: { seats: null, agents: null, tasks: null },
    });
    expect(await rows("SELECT 1 FROM flag_definitions WHERE key = 'sso'")).toEqual([]);
    expect(await rows("SELECT 1 FROM flag_plan_defaults WHERE flag_key = 'sso'")).toEqual([]);
    expect(await rows("SELECT 1 FROM flag_overrides WHERE flag_key = 'sso'")).toEqual([]);
    // Whether memories resets is the memory module's (its migration made it a level); 0008 sets its enforcement.
    expect(await rows("SELECT key, enforcement FROM usage_metrics WHERE key IN ('agents', 'memories') ORDER BY key")).toEqual([
      { key: 'agents', enforcement: 'hard' },
      { key: 'memories', enforcement: 'soft' },
    ]);
    expect(await rows("SELECT resets FROM usage_metrics WHERE key = 'agents'")).toEqual([{ resets: false }]);
    expect(await rows("SELECT actor, action, target FROM platform_audit_log WHERE created_at >= $1 ORDER BY target", [since])).toEqual([
      { actor: 'system', action: 'flag.deleted', target: 'flag:sso' },
      { actor: 'system', action: 'plan.limits_changed', target: 'plan:enterprise' },
      { actor: 'system', action: 'plan.limits_changed', target: 'plan:free' },
      { actor: 'system', action: 'plan.limits_changed', target: 'plan:pro' },
      { actor: 'system', action: 'plan.limits_changed', target: 'plan:promax' },
    ]);
    const audited = (await rows("SELECT before, after FROM platform_audit_log WHERE created_at >= $1 AND target = 'plan:free'", [since])) as {
      before: { limits: Record<string, unknown> };
      after: { limits: Record<string, unknown>; reason: string };
    }[];
    expect(audited.map(({ before, after }) => ({ before: { limits: platformLimits(before.limits) }, after: { ...after, limits: platformLimits(after.limits) } }))).toEqual([
      {
        before: { limits: { memories: 1000, agents: 1, seats: 3 } },
        after: { limits: { seats: 3, agents: 1, tasks: 1000 }, reason: 'plans promise only what is enforced' },
      },
    ]);

    expect(await migrateDown(database.url, '0008_plans_promise_what_is_enforced')).toEqual(undone);
    expect((await limits()).free).toEqual(seeded.free);
    expect(await rows("SELECT plan_key, value FROM flag_plan_defaults WHERE flag_key = 'sso'")).toEqual([{ plan_key: 'enterprise', value: true }]);
    expect(await migrateUp(database.url)).toEqual(undone);
  });
});
