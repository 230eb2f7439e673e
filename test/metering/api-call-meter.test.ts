// The API-call meter: a flush adds a tenant's calls straight into its hourly rollups (a day
// is the sum of its hours), a failed flush is sent again without losing or double counting a
// call (even when its commit succeeded and the answer was lost), and an API key's use is
// stamped by the tenant's flush, never on the request's path and never for a revoked key.

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/clock.js';
import type { Database } from '../../src/db/database.js';
import { ApiCallMeter } from '../../src/metering/api-call-meter.js';
import { FLUSH_ID_RETENTION_MS } from '../../src/metering/api-call-store.js';
import { planLimitsFrom } from '../../src/metering/plan-limits.js';
import { bearer, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { startTestApp, TestClock, type TestApp } from '../support/test-app.js';
import { rollUpAll } from './roll-up-all.js';

let testApp: TestApp;
let tenant: SignedUpTenant;
let key: { id: string; key: string };

beforeAll(async () => {
  testApp = await startTestApp();
  tenant = await signUp(testApp.app);
  key = (await createKey('meter')).json();
  await testApp.services.metering.apiCalls.flush();
});

afterAll(async () => {
  await testApp.close();
});

function createKey(name: string) {
  return testApp.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(tenant.accessToken), payload: { name } });
}

async function callWithKey(times: number, apiKey = key.key): Promise<void> {
  for (let i = 0; i < times; i++) {
    const response = await testApp.app.inject({ method: 'GET', url: '/v1/members', headers: bearer(apiKey) });
    expect(response.statusCode).toBe(200);
  }
}

/**
 * The tenant's api_calls as stored: the events its hour buckets count (one per flush and
 * hour) and the calls they add up to; and that neither a day bucket nor a raw usage event is
 * written.
 */
async function apiCallEvents(tenantId = tenant.tenantId): Promise<{ events: number; calls: number }> {
  const { rows } = await testApp.database.admin.query<{ events: number; calls: number; daily: number; raw: number }>(
    `SELECT coalesce(sum(event_count) FILTER (WHERE granularity = 'hour'), 0)::int AS events,
            coalesce(sum(quantity_sum) FILTER (WHERE granularity = 'hour'), 0)::int AS calls,
            coalesce(sum(quantity_sum) FILTER (WHERE granularity = 'day'), 0)::int AS daily,
            (SELECT count(*) FROM usage_events WHERE tenant_id = $1 AND metric = 'api_calls')::int AS raw
       FROM usage_rollups WHERE tenant_id = $1 AND metric = 'api_calls'`,
    [tenantId],
  );
  const { events, calls, daily, raw } = rows[0]!;
  expect({ daily, raw }).toEqual({ daily: 0, raw: 0 });
  return { events, calls };
}

/** A meter of its own on the test app's services, through `db`, on `clock`. */
function meterOn(db: Database, clock: Clock = testApp.services.clock): ApiCallMeter {
  const { logger, metering, plans } = testApp.services;
  return new ApiCallMeter(db, clock, metering.recorder, metering.quotas, planLimitsFrom(plans), logger);
}

async function planOf(tenantId: string): Promise<string> {
  const { rows } = await testApp.database.admin.query('SELECT plan FROM tenants WHERE id = $1', [tenantId]);
  return rows[0].plan;
}

async function lastUsedAt(keyId: string): Promise<Date | null> {
  const { rows } = await testApp.database.admin.query('SELECT last_used_at FROM api_keys WHERE id = $1', [keyId]);
  return rows[0].last_used_at;
}

describe('API-call usage', () => {
  let before: { events: number; calls: number };
  beforeEach(async () => {
    await testApp.services.metering.apiCalls.flush();
    before = await apiCallEvents();
  });

  it("adds a tenant's calls of one flush into its rollups as one event whose quantity is the number of calls", async () => {
    await callWithKey(5);
    expect(await apiCallEvents()).toEqual(before);
    await testApp.services.metering.apiCalls.flush();
    expect(await apiCallEvents()).toEqual({ events: before.events + 1, calls: before.calls + 5 });
  });

  it('reports every call, not every event, in GET /v1/usage', async () => {
    const total = async () => {
      await testApp.services.metering.apiCalls.flush();
      await rollUpAll(testApp);
      const response = await testApp.app.inject({ method: 'GET', url: '/v1/usage', headers: bearer(tenant.accessToken) });
      return response.json().metrics.find((metric: { metric: string }) => metric.metric === 'api_calls').total as number;
    };
    const first = await total();
    await callWithKey(4);
    // The usage read itself is a call too.
    expect(await total()).toBe(first + 4 + 1);
  });

  it('sends a failed flush again without losing a call, and never adds calls to the unit it failed to send', async () => {
    // The first write into usage_rollups after this fails (a sequence is not rolled back with it).
    await testApp.database.admin.query(`
      CREATE SEQUENCE meter_fault;
      CREATE FUNCTION meter_fault() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
      BEGIN
        IF nextval('meter_fault') = 1 THEN RAISE EXCEPTION 'injected usage write failure'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER meter_fault BEFORE INSERT OR UPDATE ON usage_rollups FOR EACH ROW EXECUTE FUNCTION meter_fault();`);
    try {
      await callWithKey(3);
      await testApp.services.metering.apiCalls.flush();
      expect(await apiCallEvents()).toEqual(before);
      expect(testApp.logs()).toContain('api call usage not stored; will retry');
      // Calls after the failure go into a unit of their own: the failed one may have been
      // stored by a commit whose answer was lost, and its id must then mean exactly 3 calls.
      await callWithKey(2);
      await testApp.services.metering.apiCalls.flush();
      expect(await apiCallEvents()).toEqual({ events: before.events + 2, calls: before.calls + 5 });
    } finally {
      await testApp.database.admin.query('DROP TRIGGER meter_fault ON usage_rollups; DROP FUNCTION meter_fault(); DROP SEQUENCE meter_fault');
    }
  });

  it('adds a flush whose commit succeeded but whose answer was lost once, however often it is sent again', async () => {
    const { db } = testApp.services;
    // A database whose next service unit commits and then reports the connection lost, as a
    // connection dropped between COMMIT and its answer would.
    let loseNextAnswer = false;
    const lossy = {
      service: async (...args: Parameters<Database['service']>) => {
        const result = await db.service(...args);
        if (loseNextAnswer) {
          loseNextAnswer = false;
          throw new Error('Connection terminated unexpectedly');
        }
        return result;
      },
    } as unknown as Database;
    const meter = meterOn(lossy);
    const plan = await planOf(tenant.tenantId);
    for (let i = 0; i < 4; i++) meter.record(tenant.tenantId, plan);
    loseNextAnswer = true;
    await meter.flush();
    expect(await apiCallEvents()).toEqual({ events: before.events + 1, calls: before.calls + 4 });
    meter.record(tenant.tenantId, plan);
    await meter.flush();
    await meter.flush();
    expect(await apiCallEvents()).toEqual({ events: before.events + 2, calls: before.calls + 5 });
    await meter.stop();
  });
});

describe('flush ids', () => {
  it("are forgotten past their retention by an instance's first flush of the hour", async () => {
    const [old, recent] = [randomUUID(), randomUUID()];
    await testApp.database.admin.query(
      `INSERT INTO api_call_flushes (id, flushed_at) VALUES ($1, now() - make_interval(secs => $3)), ($2, now() - make_interval(secs => $4))`,
      [old, recent, FLUSH_ID_RETENTION_MS / 1000 + 60, FLUSH_ID_RETENTION_MS / 1000 - 60],
    );
    const meter = meterOn(testApp.services.db);
    meter.record(tenant.tenantId, await planOf(tenant.tenantId));
    await meter.flush();
    await meter.stop();
    const { rows } = await testApp.database.admin.query('SELECT id FROM api_call_flushes WHERE id = ANY($1)', [[old, recent]]);
    expect(rows.map((row) => row.id)).toEqual([recent]);
  });

  it("are never relied on past a quarter of their retention: a unit kept unsent that long is dropped, and logged", async () => {
    const { db } = testApp.services;
    let reachable = false;
    const flaky = {
      service: (...args: Parameters<Database['service']>) => (reachable ? db.service(...args) : Promise.reject(new Error('connect ECONNREFUSED'))),
    } as unknown as Database;
    const clock = new TestClock();
    const meter = meterOn(flaky, clock);
    await testApp.services.metering.apiCalls.flush();
    const before = await apiCallEvents();
    meter.record(tenant.tenantId, await planOf(tenant.tenantId));
    await meter.flush();
    clock.advance(FLUSH_ID_RETENTION_MS / 4 / 1000 - 60);
    await meter.flush();
    expect(testApp.logs()).not.toContain('kept unsent too long');
    clock.advance(120);
    await meter.flush();
    expect(testApp.logs()).toContain('api call usage dropped: kept unsent too long or too many');
    reachable = true;
    await meter.flush();
    expect(await apiCallEvents()).toEqual(before);
    await meter.stop();
  });
});

describe('one flush for many tenants', () => {
  it("stores each tenant's calls under that tenant, all in one transaction recorded once an hour", async () => {
    const others = [await signUp(testApp.app), await signUp(testApp.app)];
    const tenants = [tenant, ...others];
    await testApp.services.metering.apiCalls.flush();
    const before = await callsByTenant(tenants);
    for (const [index, each] of tenants.entries()) await callAs(each, index + 2);
    await testApp.services.metering.apiCalls.flush();
    const after = await callsByTenant(tenants);
    expect(tenants.map((each) => after.get(each.tenantId)!.calls - before.get(each.tenantId)!.calls)).toEqual([2, 3, 4]);
    // xmin is the writing transaction's id: the hour buckets of all three, by one.
    const { rows } = await testApp.database.admin.query(
      "SELECT count(DISTINCT xmin::text)::int AS transactions, count(*)::int AS buckets FROM usage_rollups WHERE tenant_id = ANY($1) AND metric = 'api_calls' AND updated_at > $2",
      [tenants.map((each) => each.tenantId), before.get(tenant.tenantId)!.at],
    );
    expect(rows[0]).toEqual({ transactions: 1, buckets: 3 });
    const audit = await testApp.database.admin.query("SELECT count(*)::int AS n FROM service_role_audit WHERE reason LIKE 'api-call meter flush%'");
    expect(audit.rows[0].n).toBe(1);
  });

  it('adds every call once when two instances flush the same tenants at the same time', async () => {
    const tenants = [tenant, await signUp(testApp.app), await signUp(testApp.app)];
    await testApp.services.metering.apiCalls.flush();
    const before = await callsByTenant(tenants);
    const instances = [meterOn(testApp.services.db), meterOn(testApp.services.db)];
    const plans = await Promise.all(tenants.map((each) => planOf(each.tenantId)));
    for (let round = 0; round < 5; round++) {
      // The second instance records the tenants in the opposite order; both flushes add into
      // the same bucket rows at once, each waiting for the other's row locks.
      for (const [i, each] of tenants.entries()) instances[0]!.record(each.tenantId, plans[i]);
      for (const [i, each] of [...tenants.entries()].reverse()) instances[1]!.record(each.tenantId, plans[i]);
      await Promise.all(instances.map((instance) => instance.flush()));
    }
    await Promise.all(instances.map((instance) => instance.stop()));
    const after = await callsByTenant(tenants);
    expect(tenants.map((each) => after.get(each.tenantId)!.calls - before.get(each.tenantId)!.calls)).toEqual([10, 10, 10]);
    expect(testApp.logs()).not.toContain('deadlock');
  });

  it('stores nothing for a tenant deleted before the flush', async () => {
    const doomed = await signUp(testApp.app);
    await testApp.services.metering.apiCalls.flush();
    const before = (await callsByTenant([doomed])).get(doomed.tenantId)!;
    await callAs(doomed, 3);
    await testApp.database.admin.query('UPDATE tenants SET deleted_at = now() WHERE id = $1', [doomed.tenantId]);
    await testApp.services.metering.apiCalls.flush();
    expect((await callsByTenant([doomed])).get(doomed.tenantId)!.calls).toBe(before.calls);
  });
});

async function callAs(each: SignedUpTenant, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    const response = await testApp.app.inject({ method: 'GET', url: '/v1/members', headers: bearer(each.accessToken) });
    expect(response.statusCode).toBe(200);
  }
}

/** Each tenant's stored calls, and the database's clock when read. */
async function callsByTenant(tenants: readonly SignedUpTenant[]): Promise<Map<string, { calls: number; at: Date }>> {
  const { rows } = await testApp.database.admin.query<{ id: string; calls: number; at: Date }>(
    `SELECT t.id, coalesce(sum(r.quantity_sum), 0)::int AS calls, clock_timestamp() AS at
       FROM unnest($1::uuid[]) AS t (id)
       LEFT JOIN usage_rollups r ON r.tenant_id = t.id AND r.metric = 'api_calls' AND r.granularity = 'hour'
      GROUP BY t.id`,
    [tenants.map((each) => each.tenantId)],
  );
  return new Map(rows.map((row) => [row.id, { calls: row.calls, at: row.at }]));
}

describe("an API key's last use", () => {
  it("is stamped by the tenant's next flush, not by the request", async () => {
    const fresh = (await createKey('stamped')).json();
    await callWithKey(1, fresh.key);
    expect(await lastUsedAt(fresh.id)).toBeNull();
    await testApp.services.metering.apiCalls.flush();
    const stamped = await lastUsedAt(fresh.id);
    expect(stamped).not.toBeNull();
    // Within the minute, more use writes nothing.
    await callWithKey(3, fresh.key);
    await testApp.services.metering.apiCalls.flush();
    expect(await lastUsedAt(fresh.id)).toEqual(stamped);
  });

  it('is never stamped on a key revoked before the flush', async () => {
    const revoked = (await createKey('revoked')).json();
    await callWithKey(1, revoked.key);
    const response = await testApp.app.inject({ method: 'DELETE', url: `/v1/api-keys/${revoked.id}`, headers: bearer(tenant.accessToken) });
    expect(response.statusCode).toBe(204);
    await testApp.services.metering.apiCalls.flush();
    expect(await lastUsedAt(revoked.id)).toBeNull();
  });
});

describe('API-call usage across an hour', () => {
  // Last in the file: it moves the clock past the owner's access token.
  it('adds calls of different hours into the buckets of their own hour', async () => {
    await testApp.services.metering.apiCalls.flush();
    const bucketOf = async (at: Date) => {
      const { rows } = await testApp.database.admin.query(
        `SELECT coalesce(sum(quantity_sum), 0)::int AS calls FROM usage_rollups
          WHERE tenant_id = $1 AND metric = 'api_calls' AND granularity = 'hour' AND bucket_start = date_trunc('hour', $2::timestamptz, 'UTC')`,
        [tenant.tenantId, at],
      );
      return rows[0].calls as number;
    };
    const before = await apiCallEvents();
    const first = testApp.clock.now();
    const firstBefore = await bucketOf(first);
    await callWithKey(2);
    testApp.clock.advance(3600);
    const second = testApp.clock.now();
    await callWithKey(3);
    await testApp.services.metering.apiCalls.flush();
    expect(await apiCallEvents()).toEqual({ events: before.events + 2, calls: before.calls + 5 });
    expect([await bucketOf(first), await bucketOf(second)]).toEqual([firstBefore + 2, 3]);
  });
});
