// Rollups agree with the raw events: a shuffled stream with duplicates and late events is
// replayed across several rollup runs, and every hourly bucket (and the daily ones, kept only
// for distinct counts) is checked against a recomputation from usage_events, as is the usage
// report's daily series, whose other days are their hours added up. Every event counts exactly
// once: committed late, stored while runs overlap, or while a transaction stays open in another
// database of the server, which does not hold rollups back. The lag is a gauge on /metrics and
// a warning past 5 min.

import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ROLLUP_REASON, rollUpUsage } from '../../src/metering/roll-up-usage.js';
import { LAG_WARNING_SECONDS } from '../../src/metering/rollup-lag.js';
import { rollUpUsageJob, rollUpUsageSchedule } from '../../src/metering/roll-up-usage-job.js';
import type { UsageEventInput } from '../../src/metering/usage-event.js';
import { migrateQueue } from '../../src/jobs/migrate-queue.js';
import { enterTenant } from '../../src/tenancy/enter-tenant.js';
import { TEST_ROLES } from '../support/roles.js';
import { bearer, ownerActor, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { rollUpAll } from './roll-up-all.js';

let testApp: TestApp;
let tenants: SignedUpTenant[];
const HOUR = 3_600_000;
const ADMIN_TOKEN = 'platform-admin-token-for-rollup-tests-0123456789';

beforeAll(async () => {
  testApp = await startTestApp({ TENANTRY_PLATFORM_ADMIN_TOKEN: ADMIN_TOKEN });
  await testApp.database.admin.query(`INSERT INTO usage_metrics (key, unit, aggregation, unique_by) VALUES
    ('rollup_active_users', 'users', 'unique_count', 'user'),
    ('rollup_bytes', 'bytes', 'sum', NULL),
    ('rollup_peak', 'connections', 'max', NULL)`);
  testApp.services.metering.catalog.invalidate();
  tenants = [await signUp(testApp.app), await signUp(testApp.app)];
});

afterAll(async () => {
  await testApp.services.jobs.stop();
  await testApp.close();
});

/** A seeded pseudo-random generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

/** Metrics that count events: their events carry quantity 1 (anything else is refused). */
const COUNTED = new Set(['rollup_active_users', 'tasks']);

function stream(rand: () => number, count: number, now: number, hoursBack: number): UsageEventInput[] {
  const metrics = ['rollup_active_users', 'rollup_bytes', 'rollup_peak', 'tasks'];
  const events: UsageEventInput[] = [];
  for (let i = 0; i < count; i++) {
    const metric = metrics[Math.floor(rand() * metrics.length)]!;
    events.push({
      metric,
      quantity: COUNTED.has(metric) ? 1 : Math.floor(rand() * 1000) / 4,
      idempotency_key: `e-${randomUUID()}`,
      occurred_at: new Date(now - Math.floor(rand() * hoursBack * HOUR)).toISOString(),
      properties: metric === 'rollup_active_users' ? { user: `u${Math.floor(rand() * 40)}` } : { note: 'x' },
    });
  }
  return events;
}

function shuffle<T>(items: T[], rand: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

async function ingest(tenant: SignedUpTenant, events: UsageEventInput[], viaHttp: boolean): Promise<void> {
  if (viaHttp) {
    const response = await testApp.app.inject({ method: 'POST', url: '/v1/usage/events', headers: bearer(tenant.accessToken), payload: { events } });
    expect(response.statusCode).toBe(200);
    expect(response.json().rejected).toEqual([]);
  } else {
    const owner = ownerActor(tenant);
    const result = await enterTenant(owner, () => testApp.services.metering.recorder.record(owner, events));
    expect(result.rejected).toEqual([]);
  }
}

async function eventCount(keyPattern: string): Promise<number> {
  const { rows } = await testApp.database.admin.query('SELECT count(*)::int AS n FROM usage_events WHERE idempotency_key LIKE $1', [keyPattern]);
  return rows[0].n;
}

/**
 * Buckets whose stored rollup differs from a recomputation over the raw events (none
 * expected): every hour, and the days of distinct counts only (any other day is the sum of its
 * hours, never stored). Not api_calls: the API-call meter adds the calls of these tenants into
 * their buckets itself, with no raw event (api-call-meter.test.ts).
 */
async function disagreements(): Promise<unknown[]> {
  const { rows } = await testApp.database.admin.query(`
    WITH expected AS (
      SELECT e.tenant_id, e.metric, g.granularity, date_trunc(g.granularity, e.occurred_at, 'UTC') AS bucket_start,
             count(*) AS event_count, sum(e.quantity) AS quantity_sum, max(e.quantity) AS quantity_max,
             CASE WHEN m.aggregation = 'unique_count' THEN count(DISTINCT e.unique_value) END AS unique_count
      FROM usage_events e JOIN usage_metrics m ON m.key = e.metric
      CROSS JOIN (VALUES ('hour'), ('day')) AS g (granularity)
      WHERE e.metric <> 'api_calls' AND (g.granularity = 'hour' OR m.aggregation = 'unique_count')
      GROUP BY 1, 2, 3, 4, m.aggregation
    ), rollups AS (
      SELECT * FROM usage_rollups WHERE metric <> 'api_calls'
    )
    SELECT coalesce(x.tenant_id, r.tenant_id) AS tenant_id, coalesce(x.metric, r.metric) AS metric,
           coalesce(x.granularity, r.granularity) AS granularity, coalesce(x.bucket_start, r.bucket_start) AS bucket_start,
           x.event_count AS expected_count, r.event_count AS actual_count, x.quantity_sum AS expected_sum, r.quantity_sum AS actual_sum,
           x.quantity_max AS expected_max, r.quantity_max AS actual_max, x.unique_count AS expected_unique, r.unique_count AS actual_unique
    FROM expected x FULL JOIN rollups r
      ON r.tenant_id = x.tenant_id AND r.metric = x.metric AND r.granularity = x.granularity AND r.bucket_start = x.bucket_start
    WHERE x.event_count IS DISTINCT FROM r.event_count OR x.quantity_sum IS DISTINCT FROM r.quantity_sum
       OR x.quantity_max IS DISTINCT FROM r.quantity_max OR x.unique_count IS DISTINCT FROM r.unique_count`);
  return rows;
}

describe('usage rollups', () => {
  it('agree with the raw events after a shuffled replay with duplicates and late events', async () => {
    const rand = random(42);
    const now = testApp.clock.now().getTime();
    for (const tenant of tenants) {
      // Recent events first, then late ones (up to 40 hours old) after a rollup has run.
      const recent = stream(rand, 1500, now, 3);
      const late = stream(rand, 1500, now, 40);
      const duplicates = shuffle([...recent, ...late], rand)
        .slice(0, 600)
        .map((event) => ({ ...event, quantity: COUNTED.has(event.metric) ? 1 : event.quantity! + 1000 }));
      const first = shuffle([...recent], rand);
      const second = shuffle([...late, ...duplicates, ...recent.slice(0, 200)], rand);
      for (let i = 0; i < first.length; i += 250) await ingest(tenant, first.slice(i, i + 250), i % 500 === 0);
      await rollUpUsage(testApp.services.db);
      for (let i = 0; i < second.length; i += 300) await ingest(tenant, second.slice(i, i + 300), i % 600 === 0);
      if (tenant === tenants[0]) await rollUpUsage(testApp.services.db);
    }
    // API calls of the requests above are counted too: flush them before the final run.
    await testApp.services.metering.apiCalls.flush();
    await rollUpAll(testApp);
    expect(await disagreements()).toEqual([]);
    const { rows } = await testApp.database.admin.query(
      "SELECT count(*)::int AS n FROM usage_events WHERE idempotency_key LIKE 'e-%'",
    );
    expect(rows[0].n).toBe(6000);
    // A run with nothing new changes nothing.
    const idle = await rollUpUsage(testApp.services.db);
    expect(idle.buckets).toBe(0);
    expect(await disagreements()).toEqual([]);
  });

  it("reports each day of the replay as the raw events say: a distinct count's stored day, any other metric's hours added up", async () => {
    const tenant = tenants[0]!;
    const now = testApp.clock.now().getTime();
    const from = new Date(Math.floor(now / (24 * HOUR)) * 24 * HOUR - 2 * 24 * HOUR);
    const to = new Date(now + HOUR);
    const response = await testApp.app.inject({
      method: 'GET',
      url: `/v1/usage?from=${from.toISOString()}&to=${to.toISOString()}&granularity=day`,
      headers: bearer(tenant.accessToken),
    });
    expect(response.statusCode).toBe(200);
    const reported = (response.json() as { metrics: Array<{ metric: string; series: Array<{ start: string; value: number }> }> }).metrics;
    const { rows } = await testApp.database.admin.query<{ metric: string; day: Date; value: number }>(
      `SELECT e.metric, date_trunc('day', e.occurred_at, 'UTC') AS day,
              (CASE m.aggregation WHEN 'count' THEN count(*) WHEN 'sum' THEN sum(e.quantity) WHEN 'max' THEN max(e.quantity)
                                  ELSE count(DISTINCT e.unique_value) END)::float8 AS value
         FROM usage_events e JOIN usage_metrics m ON m.key = e.metric
        WHERE e.tenant_id = $1 AND e.metric <> 'api_calls' AND e.occurred_at >= $2 AND e.occurred_at < $3
        GROUP BY 1, 2, m.aggregation ORDER BY 2`,
      [tenant.tenantId, from, to],
    );
    const metrics = ['rollup_active_users', 'rollup_bytes', 'rollup_peak', 'tasks'];
    // The replay spans more than one day, so some days add up many hours.
    expect(new Set(rows.map((row) => row.day.getTime())).size).toBeGreaterThan(1);
    for (const metric of metrics) {
      const expected = rows.filter((row) => row.metric === metric).map((row) => ({ start: row.day.toISOString(), value: row.value }));
      expect(expected.length).toBeGreaterThan(0);
      expect(reported.find((entry) => entry.metric === metric)?.series).toEqual(expected);
    }
    // No day bucket is stored but for the distinct count.
    const { rows: days } = await testApp.database.admin.query(
      "SELECT DISTINCT metric FROM usage_rollups WHERE granularity = 'day' AND tenant_id = ANY($1)",
      [tenants.map((t) => t.tenantId)],
    );
    expect(days).toEqual([{ metric: 'rollup_active_users' }]);
  });

  it('counts an event whose transaction commits after the rollup ran exactly once', async () => {
    const tenant = tenants[0]!;
    const slow = await testApp.database.admin.connect();
    try {
      await slow.query('BEGIN');
      await slow.query(
        `INSERT INTO usage_events (tenant_id, idempotency_key, metric, quantity, occurred_at) VALUES ($1, 'slow-commit', 'rollup_bytes', 7, now())`,
        [tenant.tenantId],
      );
      // A later transaction commits first, and a rollup runs while the slow one is open.
      await ingest(tenant, [{ metric: 'rollup_bytes', quantity: 3, idempotency_key: 'fast-commit' }], false);
      await rollUpUsage(testApp.services.db);
      await slow.query('COMMIT');
    } finally {
      slow.release();
    }
    await testApp.services.metering.apiCalls.flush();
    await rollUpAll(testApp);
    expect(await disagreements()).toEqual([]);
  });

  it('keeps rolling up while a transaction stays open in another database of the server', async () => {
    const tenant = tenants[1]!;
    const elsewhere = new pg.Client({ connectionString: inject('adminUrl') });
    await elsewhere.connect();
    try {
      await elsewhere.query('BEGIN');
      const { rows: held } = await elsewhere.query<{ xid: string }>('SELECT txid_current()::text AS xid');
      // The server-wide horizon is now that transaction: a watermark taken from it stays put.
      const { rows: horizon } = await testApp.database.admin.query<{ xmin: string }>('SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin');
      expect(BigInt(horizon[0]!.xmin)).toBeLessThanOrEqual(BigInt(held[0]!.xid));

      await testApp.services.metering.apiCalls.flush();
      await ingest(tenant, [{ metric: 'rollup_bytes', quantity: 5, idempotency_key: 'while-open-elsewhere' }], false);
      const run = await rollUpUsage(testApp.services.db);
      expect(run.events).toBeGreaterThanOrEqual(1);
      expect(run.pending).toBe(0);
      expect(run.lagSeconds).toBe(0);
      expect(await disagreements()).toEqual([]);
    } finally {
      await elsewhere.query('ROLLBACK');
      await elsewhere.end();
    }
  });

  it('counts every event once while events arrive during overlapping runs in small batches', async () => {
    const before = await eventCount('c-%');
    let writing = true;
    // Two writers per tenant; the second repeats half of the first's keys (duplicates).
    const writers = tenants.flatMap((tenant, t) =>
      [0, 1].map(async (w) => {
        for (let i = 0; i < 12; i++) {
          const events = Array.from({ length: 40 }, (_, j) => ({
            metric: j % 2 === 0 ? 'rollup_bytes' : 'rollup_active_users',
            quantity: j % 2 === 0 ? j : 1,
            idempotency_key: `c-${t}-${w === 1 && j % 2 === 0 ? 0 : w}-${i}-${j}`,
            properties: { user: `u${(i * j) % 23}` },
          }));
          await ingest(tenant, events, false);
        }
      }),
    );
    // Runs overlap each other (one steps aside) and the writers; batches of 37 leave work behind.
    const runs = (async () => {
      while (writing) await Promise.all([rollUpUsage(testApp.services.db, 37), rollUpUsage(testApp.services.db, 37)]);
    })();
    await Promise.all(writers);
    writing = false;
    await runs;
    await testApp.services.metering.apiCalls.flush();
    await rollUpAll(testApp);
    expect(await eventCount('c-%')).toBe(before + tenants.length * (2 * 12 * 40 - 12 * 20));
    expect(await disagreements()).toEqual([]);
    // Runs that find nothing new change nothing.
    for (let i = 0; i < 3; i++) expect((await rollUpUsage(testApp.services.db)).events).toBe(0);
    expect(await disagreements()).toEqual([]);
  });

  it(`shows its lag on /metrics and warns when a run ends more than ${LAG_WARNING_SECONDS} s behind`, async () => {
    const tenant = tenants[0]!;
    await testApp.services.metering.apiCalls.flush();
    await rollUpAll(testApp);
    await ingest(tenant, [{ metric: 'rollup_bytes', quantity: 1, idempotency_key: 'lagging' }], false);
    await testApp.database.admin.query("UPDATE usage_rollup_queue SET queued_at = now() - interval '400 seconds' WHERE idempotency_key = 'lagging'");
    // A transaction holding the key (as a tenant soft delete would) keeps it queued for now.
    const holder = await testApp.database.admin.connect();
    try {
      await holder.query('BEGIN');
      await holder.query("SELECT 1 FROM usage_rollup_queue WHERE idempotency_key = 'lagging' FOR UPDATE");
      await rollUpUsageJob.handler({}, testApp.services, { jobId: 'test', attempt: 1, logger: testApp.services.logger });
      const metrics = await testApp.app.inject({ method: 'GET', url: '/metrics', headers: bearer(ADMIN_TOKEN) });
      expect(metrics.statusCode).toBe(200);
      expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
      const lag = Number(/^tenantry_usage_rollup_lag_seconds (\S+)$/m.exec(metrics.body)?.[1]);
      expect(lag).toBeGreaterThanOrEqual(399);
      expect(lag).toBeLessThan(460);
      const lastRun = Number(/^tenantry_usage_rollup_last_run_timestamp_seconds (\S+)$/m.exec(metrics.body)?.[1]);
      expect(Math.abs(lastRun - Date.now() / 1000)).toBeLessThan(60);
      const warning = testApp.logs().split('\n').filter((line) => line.includes('usage rollups are behind')).map((line) => JSON.parse(line));
      expect(warning.at(-1)).toMatchObject({ level: 40, pending_events: 1, threshold_seconds: LAG_WARNING_SECONDS });
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    await rollUpAll(testApp);
    expect(await disagreements()).toEqual([]);
    expect((await testApp.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    expect((await testApp.app.inject({ method: 'GET', url: '/metrics', headers: bearer(tenant.accessToken) })).statusCode).toBe(403);
  });

  it('runs as the audited service role, every minute', async () => {
    const { rows } = await testApp.database.admin.query('SELECT count(*)::int AS n FROM service_role_audit WHERE reason = $1', [ROLLUP_REASON]);
    expect(rows[0].n).toBeGreaterThan(0);
    expect(rollUpUsageJob.scope).toBe('service');
    expect(rollUpUsageSchedule.cron).toBe('* * * * *');
  });

  it('runs as a job on the queue and rolls up what arrived since', async () => {
    await migrateQueue(testApp.database.url, TEST_ROLES, testApp.services.logger);
    await ingest(tenants[1]!, [{ metric: 'rollup_bytes', quantity: 11, idempotency_key: 'via-queue' }], false);
    const jobs = testApp.services.jobs;
    await jobs.start({ concurrency: 1, pollIntervalMs: 200 });
    const done = new Promise<unknown>((resolve) => {
      jobs.events.on('job:complete', ({ job, error }) => {
        if (job.task_identifier === rollUpUsageJob.name) resolve(error);
      });
    });
    await jobs.enqueueDirect(rollUpUsageJob, {});
    expect(await done).toBeNull();
    await testApp.services.metering.apiCalls.flush();
    await rollUpAll(testApp);
    expect(await disagreements()).toEqual([]);
  });
});
