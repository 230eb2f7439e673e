// Under a burst the server refuses at once rather than queue for seconds: past the bound on
// requests waiting for a database connection, or while its event loop lags, it answers
// 503 overloaded (problem+json, Retry-After); /healthz still answers.

import { sql } from 'kysely';
import type { LightMyRequestResponse } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { access } from '../../src/http/access.js';
import { expectProblem } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let testApp: TestApp | undefined;

afterEach(async () => {
  await testApp?.close();
  testApp = undefined;
});

/** The test app's request pool holds 10 connections. */
const POOL_SIZE = 10;

function problemType(response: LightMyRequestResponse): string {
  return String(response.json().type).replace('https://tenantry.dev/problems/', '');
}

describe('a burst larger than the pool and its waiting line', () => {
  it('runs what fits, refuses the rest at once with 503 overloaded, and answers no 500', async () => {
    testApp = await startTestApp(
      { TENANTRY_DB_MAX_WAITING: '2', TENANTRY_DB_CONNECT_TIMEOUT_MS: '1000' },
      {
        extend: (app, services) => {
          // A test-only route whose unit of work holds its connection for `seconds`.
          app.get('/test/hold-connection', { config: { access: access.public } }, async (request) => {
            const seconds = Number((request.query as { seconds?: string }).seconds ?? '0');
            await services.db.identity({}, (tx) => sql`SELECT pg_sleep(${seconds})`.execute(tx));
            return { held: seconds };
          });
        },
      },
    );
    const app = testApp.app;
    // Open every connection first, so the burst measures waiting, not connecting.
    await Promise.all(Array.from({ length: POOL_SIZE }, () => app.inject({ method: 'GET', url: '/test/hold-connection?seconds=0.2' })));
    const burst = await Promise.all(
      Array.from({ length: 30 }, async () => {
        const started = performance.now();
        // Held for longer than the connect timeout, so whoever waits gives up first.
        const response = await app.inject({ method: 'GET', url: '/test/hold-connection?seconds=2' });
        return { response, ms: performance.now() - started };
      }),
    );
    const ok = burst.filter(({ response }) => response.statusCode === 200);
    const refused = burst.filter(({ response }) => response.statusCode === 503);
    expect(ok.length + refused.length).toBe(burst.length);
    expect(ok.length).toBeGreaterThan(0);
    expect(ok.length).toBeLessThanOrEqual(POOL_SIZE);
    for (const { response } of refused) {
      expectProblem(response, 503);
      expect(Number(response.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    }
    const overloaded = refused.filter(({ response }) => problemType(response) === 'overloaded');
    expect(overloaded.length).toBeGreaterThanOrEqual(burst.length - POOL_SIZE - 2);
    // Refused before any wait: well under the connect timeout, let alone the 2 s hold.
    for (const { ms } of overloaded) expect(ms).toBeLessThan(1_000);
    // Whoever waited gave up after the connect timeout: database-unavailable, never 500.
    const others = refused.filter(({ response }) => problemType(response) !== 'overloaded').map(({ response }) => problemType(response));
    expect(new Set(others)).toEqual(new Set(others.length ? ['database-unavailable'] : []));
  });
});

describe('an event loop lagging past TENANTRY_MAX_EVENT_LOOP_DELAY_MS', () => {
  it('sheds requests with 503 overloaded while /healthz still answers 200', async () => {
    // The load-shedding plugin lives inside Tenantry's plugin: its isUnderPressure() is read
    // from an instance in that context (a test module's), not from the root app.
    let pressure: (() => boolean) | undefined;
    testApp = await startTestApp(
      { TENANTRY_MAX_EVENT_LOOP_DELAY_MS: '30' },
      { extend: (tenantryContext) => void (pressure = () => tenantryContext.isUnderPressure()) },
    );
    const app = testApp.app;
    expect((await app.inject({ method: 'GET', url: '/v1/plans' })).statusCode).toBe(200);
    // Block the loop in 80 ms slices until the plugin's next sample sees the lag.
    const deadline = performance.now() + 10_000;
    while (!pressure!() && performance.now() < deadline) {
      const until = performance.now() + 80;
      while (performance.now() < until) {
        // busy: this is the lag being measured
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(pressure!()).toBe(true);
    const [shed, health] = await Promise.all([app.inject({ method: 'GET', url: '/v1/plans' }), app.inject({ method: 'GET', url: '/healthz' })]);
    const body = expectProblem(shed, 503, 'overloaded');
    expect(body.retry_after).toBe(1);
    expect(shed.headers['retry-after']).toBe('1');
    expect(health.statusCode).toBe(200);
    // Once the lag is gone the next sample lets requests through again.
    await expect.poll(async () => (await app.inject({ method: 'GET', url: '/v1/plans' })).statusCode, { timeout: 5_000, interval: 200 }).toBe(200);
  });
});
