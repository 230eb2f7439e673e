// bench:stripe-webhooks — how many Stripe webhook deliveries per second POST
// /v1/billing/webhooks/stripe handles, half of them redeliveries of an event already applied
// (Stripe retries and redelivers). Each delivery goes through the whole route (raw-body parser,
// signature check, one service unit that locks the account, records the event id and applies
// the dunning transition with its audit row and announcement). The baseline, in the same run and
// at the same concurrency: the same number of signature checks, each followed by one
// single-row INSERT ... ON CONFLICT DO NOTHING on a plain table, sent raw through pg.

import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import Stripe from 'stripe';
import { buildApp } from '../src/app.js';
import { builtInModules } from '../src/built-in-modules.js';
import { systemClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import { createPool } from '../src/db/database.js';
import { newId } from '../src/db/ids.js';
import { createLogger } from '../src/logger.js';
import { createServices } from '../src/services.js';
import { machine, migrateBenchDatabase, openBenchDatabase } from './support/bench-harness.js';

const TENANTS = Number(process.env.BENCH_TENANTS ?? 50);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 2_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const SECRET = 'whsec_bench_secret_0123456789abcdef';

const database = await openBenchDatabase();
const logger = createLogger('error');
const config = loadConfig({
  DATABASE_URL: database.url,
  TENANTRY_JWT_SECRET: 'bench-secret-that-is-at-least-32-bytes-long',
  LOG_LEVEL: 'error',
  TENANTRY_RATE_LIMITS: 'false',
  // Measured, not shed: on a busy machine the event-loop guard would answer 503 instead.
  TENANTRY_MAX_EVENT_LOOP_DELAY_MS: '0',
  STRIPE_SECRET_KEY: 'sk_test_bench_never_called',
  STRIPE_WEBHOOK_SECRET: SECRET,
});
const admin = new pg.Client({ connectionString: database.url });
const signer = new Stripe('sk_test_signing_only', { telemetry: false });
let pool: pg.Pool | undefined;
let rawPool: pg.Pool | undefined;
let tearingDown = false;
/** SQLSTATE of a backend terminated by the server (DROP DATABASE ... WITH (FORCE)). */
const ADMIN_SHUTDOWN = '57P01';

interface Delivery {
  readonly body: string;
  readonly signature: string;
}

/**
 * Counts what the server sends PostgreSQL: every query, and every round trip, a query sent on a
 * connection with nothing else in flight (queries pipelined behind it share its round trip).
 * Counted across every connection of the process while `counting` is on.
 */
const wire = { counting: false, queries: 0, roundTrips: 0 };
const inFlight = new WeakMap<object, number>();
const originalQuery = pg.Client.prototype.query as (...args: unknown[]) => unknown;
(pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown }).query = function (this: object, ...args: unknown[]) {
  if (!wire.counting) return originalQuery.apply(this, args);
  const pending = inFlight.get(this) ?? 0;
  wire.queries += 1;
  if (pending === 0) wire.roundTrips += 1;
  inFlight.set(this, pending + 1);
  const settle = () => inFlight.set(this, (inFlight.get(this) ?? 1) - 1);
  // pg.Pool.query (the service-role audit record) passes a callback and gets no promise back.
  const callback = args.at(-1);
  if (typeof callback === 'function') {
    args[args.length - 1] = (...results: unknown[]) => {
      settle();
      return (callback as (...results: unknown[]) => unknown)(...results);
    };
  }
  const result = originalQuery.apply(this, args);
  if (result instanceof Promise) result.then(settle, settle);
  return result;
};

/** Runs `work` over `items` with `CONCURRENCY` in flight; answers the seconds it took. */
async function drive<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
  return (performance.now() - started) / 1000;
}

try {
  await migrateBenchDatabase(database.url, config.roles);
  await admin.connect();
  pool = createPool(database.url, CONCURRENCY, logger);
  rawPool = new pg.Pool({ connectionString: database.url, max: CONCURRENCY });
  // pg-pool's end() resolves before its clients' backends have gone, and the DROP ... WITH
  // (FORCE) below terminates any still there: the idle client then reports 57P01 on the pool,
  // which without a listener would crash the run after its result was written. Only that error
  // at teardown is expected; any other fails the run.
  rawPool.on('error', (error) => {
    if (tearingDown && (error as { code?: string }).code === ADMIN_SHUTDOWN) return;
    console.error('raw pool client failed', error);
    process.exitCode = 1;
  });
  const services = createServices({ modules: builtInModules, config, jwt: config.jwt!, pool, clock: systemClock, logger });
  const app = await buildApp(services);
  await app.ready();

  const customers: string[] = [];
  for (let i = 0; i < TENANTS; i++) {
    const tenantId = newId();
    await admin.query(`INSERT INTO tenants (id, name, slug, plan) VALUES ($1, $2, $2, 'pro')`, [tenantId, `bench-${i}`]);
    await admin.query(`INSERT INTO billing_accounts (tenant_id, id, provider, customer_ref) VALUES ($1, $2, 'stripe', $3)`, [tenantId, newId(), `cus_bench_${i}`]);
    customers.push(`cus_bench_${i}`);
  }
  // Each tenant's events alternate failed / paid, newer each time: every first delivery moves the
  // tenant (active <-> past_due); each is then delivered again, later in the run.
  const base = Math.floor(Date.now() / 1000) - EVENTS;
  const unique: Delivery[] = Array.from({ length: EVENTS / 2 }, (_, n) => {
    const customer = customers[n % TENANTS]!;
    const type = Math.floor(n / TENANTS) % 2 === 0 ? 'invoice.payment_failed' : 'invoice.paid';
    const body = JSON.stringify({ id: `evt_bench_${n}`, object: 'event', type, created: base + n, data: { object: { id: `in_${n}`, object: 'invoice', customer } } }, null, 2);
    return { body, signature: signer.webhooks.generateTestHeaderString({ payload: body, secret: SECRET }) };
  });
  const deliveries = [...unique, ...unique];

  const outcomes = new Map<string, number>();
  const send = async ({ body, signature }: Delivery) => {
    const response = await app.inject({ method: 'POST', url: '/v1/billing/webhooks/stripe', headers: { 'content-type': 'application/json', 'stripe-signature': signature }, payload: body });
    const outcome = response.statusCode === 200 ? (response.json().outcome as string) : `http-${response.statusCode}`;
    if (response.statusCode !== 200 && !outcomes.has(outcome)) console.error(response.body);
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  };
  // First deliveries, then the redeliveries, each counted on the wire.
  const perDelivery = (items: number) => ({ queries: Math.round((wire.queries / items) * 10) / 10, roundTrips: Math.round((wire.roundTrips / items) * 10) / 10 });
  Object.assign(wire, { counting: true, queries: 0, roundTrips: 0 });
  const firstSeconds = await drive(unique, send);
  const firstWire = perDelivery(unique.length);
  Object.assign(wire, { queries: 0, roundTrips: 0 });
  const againSeconds = await drive(unique, send);
  const againWire = perDelivery(unique.length);
  wire.counting = false;
  const routeSeconds = firstSeconds + againSeconds;

  await admin.query(`CREATE TABLE bench_raw_events (event_id text PRIMARY KEY, body jsonb NOT NULL)`);
  const rawSeconds = await drive(deliveries, async ({ body, signature }) => {
    const event = signer.webhooks.constructEvent(body, signature, SECRET, 300);
    await rawPool!.query(`INSERT INTO bench_raw_events (event_id, body) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [event.id, body]);
  });
  const applied = await admin.query(`SELECT count(*)::int AS n FROM billing_provider_events`);

  const result = {
    bench: 'stripe-webhooks',
    at: new Date().toISOString(),
    machine: machine(),
    loadAverage: loadavg(),
    tenants: TENANTS,
    deliveries: deliveries.length,
    duplicates: deliveries.length - unique.length,
    concurrency: CONCURRENCY,
    outcomes: Object.fromEntries(outcomes),
    eventsRecorded: applied.rows[0].n,
    routeEventsPerSecond: Math.round(deliveries.length / routeSeconds),
    rawVerifyInsertPerSecond: Math.round(deliveries.length / rawSeconds),
    routeVsRaw: Math.round((rawSeconds / routeSeconds) * 1000) / 1000,
    firstDeliveriesPerSecond: Math.round(unique.length / firstSeconds),
    redeliveriesPerSecond: Math.round(unique.length / againSeconds),
    // Per delivery, on the wire (the service-role audit record included).
    wireFirstDelivery: firstWire,
    wireRedelivery: againWire,
  };
  console.log(JSON.stringify(result, null, 2));
  // Each unique event once, whatever the redeliveries.
  if (result.eventsRecorded !== unique.length || (outcomes.get('applied') ?? 0) + (outcomes.get('stale') ?? 0) !== unique.length) process.exitCode = 1;
  await writeFile(new URL('./results/stripe-webhooks.json', import.meta.url), JSON.stringify(result, null, 2) + '\n');
  await app.close();
} finally {
  tearingDown = true;
  await pool?.end();
  await rawPool?.end();
  await admin.end().catch(() => undefined);
  await database.drop();
}
