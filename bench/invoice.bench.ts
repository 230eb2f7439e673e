// bench:invoice — how long issuing one invoice takes for a tenant with 1,000,000 usage events in
// its billing period. The invoice is priced from the hourly rollups (src/billing/period-usage.ts),
// so its cost should not grow with the events; the baseline, in the same run, is one aggregate
// over the period's raw events (what pricing from events would cost at the least). The rollup
// of the million events is metering's work, timed apart. The totals of both must agree.

import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { builtInModules } from '../src/built-in-modules.js';
import type { BillingTables } from '../src/billing/billing-tables.js';
import { PeriodClosing } from '../src/billing/close-periods.js';
import { systemClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import { createPool } from '../src/db/database.js';
import { newId } from '../src/db/ids.js';
import { createLogger } from '../src/logger.js';
import { billingPeriod } from '../src/metering/billing-period.js';
import { rollUpUsage } from '../src/metering/roll-up-usage.js';
import { createServices } from '../src/services.js';
import { machine, median, migrateBenchDatabase, openBenchDatabase } from './support/bench-harness.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

const database = await openBenchDatabase();
const logger = createLogger('error');
const config = loadConfig({ DATABASE_URL: database.url, TENANTRY_JWT_SECRET: 'bench-secret-that-is-at-least-32-bytes-long', LOG_LEVEL: 'error' });
const admin = new pg.Client({ connectionString: database.url });
let pool: pg.Pool | undefined;
try {
  await migrateBenchDatabase(database.url, config.roles);
  await admin.connect();
  pool = createPool(database.url, 4, logger);
  const services = createServices({ modules: builtInModules, config, jwt: config.jwt!, pool, clock: systemClock, logger });
  const tenantId = newId();
  const { rows } = await admin.query(
    `INSERT INTO tenants (id, name, slug, plan, billing_anchor) VALUES ($1, 'Bench', 'bench', 'pro', date_trunc('hour', now() - interval '40 days'))
     RETURNING billing_anchor`,
    [tenantId],
  );
  const period = billingPeriod(rows[0].billing_anchor, rows[0].billing_anchor);
  const spanSeconds = (period.end.getTime() - period.start.getTime()) / 1000;
  let started = performance.now();
  await admin.query(
    `INSERT INTO usage_events (tenant_id, idempotency_key, metric, quantity, occurred_at)
     SELECT $1, 'bench-' || n, 'api_calls', 1, $2::timestamptz + make_interval(secs => (n::double precision * $3 / $4))
     FROM generate_series(0, $4 - 1) AS n`,
    [tenantId, period.start, spanSeconds, EVENTS],
  );
  const insertMs = performance.now() - started;
  started = performance.now();
  // Until the queue is empty; a batch that claims nothing waits for the rollup watermark a little.
  for (let idle = 0; idle < 50; ) {
    const result = await rollUpUsage(services.db, 100_000);
    if (result.claimed === 0 && result.pending === 0) break;
    if (result.claimed === 0) {
      idle += 1;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  const rollupMs = performance.now() - started;

  const closing = new PeriodClosing(services.db.withTables<BillingTables>(), systemClock, config.usageGraceHours);
  const invoiceMs: number[] = [];
  const rawMs: number[] = [];
  let invoiceTotal = 0;
  let rawCount = 0;
  for (let round = 0; round < ROUNDS; round++) {
    await admin.query(`DELETE FROM billing_invoice_lines WHERE tenant_id = $1; `, [tenantId]);
    await admin.query(`DELETE FROM billing_invoices WHERE tenant_id = $1`, [tenantId]);
    started = performance.now();
    const issued = await closing.close(tenantId, period);
    invoiceMs.push(performance.now() - started);
    invoiceTotal = issued!.totalCents;
    started = performance.now();
    const raw = await admin.query(
      `SELECT count(*)::bigint AS n FROM usage_events WHERE tenant_id = $1 AND metric = 'api_calls' AND occurred_at >= $2 AND occurred_at < $3`,
      [tenantId, period.start, period.end],
    );
    rawMs.push(performance.now() - started);
    rawCount = Number(raw.rows[0].n);
  }
  // Pro includes 1,000,000 calls: price what the raw count says, and compare.
  const expectedTotal = 1500 + Math.round((Math.max(0, rawCount - 1_000_000) * 10) / 1000);
  const result = {
    bench: 'invoice',
    at: new Date().toISOString(),
    machine: machine(),
    loadAverage: loadavg(),
    events: EVENTS,
    rounds: ROUNDS,
    insertEventsMs: Math.round(insertMs),
    rollupMs: Math.round(rollupMs),
    invoiceMedianMs: Math.round(median(invoiceMs) * 10) / 10,
    rawAggregateMedianMs: Math.round(median(rawMs) * 10) / 10,
    invoiceVsRawAggregate: Math.round((median(invoiceMs) / median(rawMs)) * 1000) / 1000,
    totalsAgree: invoiceTotal === expectedTotal,
    invoiceTotalCents: invoiceTotal,
  };
  console.log(JSON.stringify(result, null, 2));
  if (!result.totalsAgree) process.exitCode = 1;
  await writeFile(new URL('./results/invoice.json', import.meta.url), JSON.stringify(result, null, 2) + '\n');
  await services.invalidation.close();
} finally {
  await pool?.end();
  await admin.end().catch(() => undefined);
  await database.drop();
}
