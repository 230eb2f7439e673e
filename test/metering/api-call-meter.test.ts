// The API-call meter: a tenant's calls are written as one usage event per flush and hour, a
// failed flush is retried without losing or double counting a call, and an API key's use is
// stamped by the tenant's flush, never on the request's path and never for a revoked key.

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bearer, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
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

/** The tenant's api_calls events: how many rows, and the calls they add up to. */
async function apiCallEvents(): Promise<{ events: number; calls: number }> {
  const { rows } = await testApp.database.admin.query<{ events: number; calls: number }>(
    "SELECT count(*)::int AS events, coalesce(sum(quantity), 0)::int AS calls FROM usage_events WHERE tenant_id = $1 AND metric = 'api_calls'",
    [tenant.tenantId],
  );
  return rows[0]!;
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

  it("writes a tenant's calls of one flush as one event whose quantity is the number of calls", async () => {
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

  it('retries a failed flush without losing a call, and never adds calls to the batch it failed to send', async () => {
    // The first insert into usage_events after this fails (a sequence is not rolled back with it).
    await testApp.database.admin.query(`
      CREATE SEQUENCE meter_fault;
      CREATE FUNCTION meter_fault() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
      BEGIN
        IF nextval('meter_fault') = 1 THEN RAISE EXCEPTION 'injected usage write failure'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER meter_fault BEFORE INSERT ON usage_events FOR EACH ROW EXECUTE FUNCTION meter_fault();`);
    try {
      await callWithKey(3);
      await testApp.services.metering.apiCalls.flush();
      expect(await apiCallEvents()).toEqual(before);
      expect(testApp.logs()).toContain('api call usage not stored; will retry');
      // Calls after the failure start a batch of their own: the failed one may have been
      // stored by a commit whose answer was lost, and its key must then mean exactly 3 calls.
      await callWithKey(2);
      await testApp.services.metering.apiCalls.flush();
      expect(await apiCallEvents()).toEqual({ events: before.events + 2, calls: before.calls + 5 });
    } finally {
      await testApp.database.admin.query('DROP TRIGGER meter_fault ON usage_events; DROP FUNCTION meter_fault(); DROP SEQUENCE meter_fault');
    }
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
    // xmin is the inserting transaction's id.
    const { rows } = await testApp.database.admin.query(
      "SELECT count(DISTINCT xmin::text)::int AS transactions FROM usage_events WHERE tenant_id = ANY($1) AND metric = 'api_calls' AND created_at > $2",
      [tenants.map((each) => each.tenantId), before.get(tenant.tenantId)!.at],
    );
    expect(rows[0].transactions).toBe(1);
    const audit = await testApp.database.admin.query("SELECT count(*)::int AS n FROM service_role_audit WHERE reason LIKE 'api-call meter flush%'");
    expect(audit.rows[0].n).toBe(1);
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
    `SELECT t.id, coalesce(sum(e.quantity), 0)::int AS calls, clock_timestamp() AS at
       FROM unnest($1::uuid[]) AS t (id) LEFT JOIN usage_events e ON e.tenant_id = t.id AND e.metric = 'api_calls'
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
  it('keeps calls of different hours in events of their own hour', async () => {
    await testApp.services.metering.apiCalls.flush();
    const before = await apiCallEvents();
    await callWithKey(2);
    testApp.clock.advance(3600);
    await callWithKey(3);
    await testApp.services.metering.apiCalls.flush();
    expect(await apiCallEvents()).toEqual({ events: before.events + 2, calls: before.calls + 5 });
    const { rows } = await testApp.database.admin.query(
      "SELECT quantity::int AS calls FROM usage_events WHERE tenant_id = $1 AND metric = 'api_calls' ORDER BY occurred_at DESC LIMIT 2",
      [tenant.tenantId],
    );
    expect(rows.map((row) => row.calls)).toEqual([3, 2]);
  });
});
