// Rollups agree with the raw events: a shuffled stream with duplicates and late events is
// replayed across several rollup runs, and every hourly and daily bucket is checked against
// a recomputation from usage_events. Also: an event whose transaction commits late counts once.

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLLUP_REASON, rollUpUsage } from '../../src/metering/roll-up-usage.js';
import { rollUpUsageJob, rollUpUsageSchedule } from '../../src/metering/roll-up-usage-job.js';
import type { UsageEventInput } from '../../src/metering/usage-event.js';
import { migrateQueue } from '../../src/jobs/migrate-queue.js';
import { runWithContext } from '../../src/tenancy/context.js';
import { TEST_ROLES } from '../support/roles.js';
import { bearer, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { rollUpAll } from './roll-up-all.js';

let testApp: TestApp;
let tenants: SignedUpTenant[];
const HOUR = 3_600_000;

beforeAll(async () => {
  testApp = await startTestApp();
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

function stream(rand: () => number, count: number, now: number, hoursBack: number): UsageEventInput[] {
  const metrics = ['rollup_active_users', 'rollup_bytes', 'rollup_peak', 'tasks'];
  const events: UsageEventInput[] = [];
  for (let i = 0; i < count; i++) {
    const metric = metrics[Math.floor(rand() * metrics.length)]!;
    events.push({
      metric,
      quantity: Math.floor(rand() * 1000) / 4,
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
    const result = await runWithContext({ requestId: 'test', tenantId: tenant.tenantId }, () => testApp.services.metering.recorder.record(events));
    expect(result.rejected).toEqual([]);
  }
}

/** Buckets whose stored rollup differs from a recomputation over the raw events (none expected). */
async function disagreements(): Promise<unknown[]> {
  const { rows } = await testApp.database.admin.query(`
    WITH expected AS (
      SELECT e.tenant_id, e.metric, g.granularity, date_trunc(g.granularity, e.occurred_at, 'UTC') AS bucket_start,
             count(*) AS event_count, sum(e.quantity) AS quantity_sum, max(e.quantity) AS quantity_max,
             CASE WHEN m.aggregation = 'unique_count' THEN count(DISTINCT e.unique_value) END AS unique_count
      FROM usage_events e JOIN usage_metrics m ON m.key = e.metric
      CROSS JOIN (VALUES ('hour'), ('day')) AS g (granularity)
      GROUP BY 1, 2, 3, 4, m.aggregation
    )
    SELECT coalesce(x.tenant_id, r.tenant_id) AS tenant_id, coalesce(x.metric, r.metric) AS metric,
           coalesce(x.granularity, r.granularity) AS granularity, coalesce(x.bucket_start, r.bucket_start) AS bucket_start,
           x.event_count AS expected_count, r.event_count AS actual_count, x.quantity_sum AS expected_sum, r.quantity_sum AS actual_sum,
           x.quantity_max AS expected_max, r.quantity_max AS actual_max, x.unique_count AS expected_unique, r.unique_count AS actual_unique
    FROM expected x FULL JOIN usage_rollups r
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
        .map((event) => ({ ...event, quantity: event.quantity + 1000 }));
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
    await jobs.enqueue(rollUpUsageJob.name, {});
    expect(await done).toBeNull();
    await testApp.services.metering.apiCalls.flush();
    await rollUpAll(testApp);
    expect(await disagreements()).toEqual([]);
  });
});
