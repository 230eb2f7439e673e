// Per-user rate limits of the routes a user session reaches without a tenant (/v1/me,
// switch-tenant): a token bucket per user id, not per address; past it 429 user-rate-limited
// with Retry-After; other users are unaffected; with Redis, instances share each user's bucket.

import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createPool } from '../../src/db/database.js';
import { createLogger } from '../../src/logger.js';
import { createServices } from '../../src/services.js';
import { bearer, expectProblem, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { patient } from '../support/pools.js';
import { redisAnswers, TEST_REDIS_URL as REDIS_URL } from '../support/redis-probe.js';
import { startTestApp, TEST_JWT_SECRET, type TestApp } from '../support/test-app.js';
import { bucketWindow } from '../support/token-buckets.js';
import { TEST_MODULES } from '../support/modules.js';

const PER_MINUTE = 30;
const LIMIT_ENV = { TENANTRY_RATE_LIMITS: 'true', TENANTRY_USER_RATE_LIMIT_PER_MINUTE: String(PER_MINUTE) };
const KEY_PREFIX = `test:user-ratelimit:${process.pid}:${Date.now()}:`;

const withRedis = await redisAnswers(REDIS_URL);

let testApp: TestApp;
const extraApps: Array<{ close: () => Promise<void> }> = [];

beforeAll(async () => {
  testApp = await startTestApp(LIMIT_ENV);
});

afterAll(async () => {
  for (const extra of extraApps) await extra.close();
  await testApp.close();
});

/** Another app instance on the same database (like a second server). */
async function secondInstance(env: Record<string, string>): Promise<FastifyInstance> {
  const config = loadConfig({ TENANTRY_JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'error', TENANTRY_MAX_EVENT_LOOP_DELAY_MS: '0', ...LIMIT_ENV, ...env });
  const logger = createLogger('error');
  const pool = patient(createPool(testApp.database.url, 4, logger));
  const app = await buildApp(createServices({ modules: TEST_MODULES, config, jwt: config.jwt!, pool, clock: testApp.clock, logger }));
  await app.ready();
  extraApps.push({ close: async () => (await app.close(), await pool.end()) });
  return app;
}

function me(user: SignedUpTenant, app: FastifyInstance = testApp.app, remoteAddress = '127.0.0.1'): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url: '/v1/me', remoteAddress, headers: bearer(user.accessToken) });
}

/** Requests until the first 429, or one past what a full bucket may have admitted meanwhile. */
async function untilRefused(send: (index: number) => Promise<LightMyRequestResponse>, window = bucketWindow()) {
  let passed = 0;
  for (;;) {
    const response = await send(passed);
    if (response.statusCode !== 200 || passed > window.admittedAtMost(PER_MINUTE)) return { response, passed, window };
    passed += 1;
  }
}

describe('the per-user rate limit, in process', () => {
  it('answers 429 user-rate-limited with Retry-After once a user has spent their requests per minute', async () => {
    const user = await signUp(testApp.app);
    const window = bucketWindow();
    const first = await me(user);
    expect(first.statusCode).toBe(200);
    expect(first.headers['ratelimit-limit']).toBe(String(PER_MINUTE));
    expect(first.headers['ratelimit-remaining']).toBe(String(PER_MINUTE - 1));

    const { response, passed } = await untilRefused(() => me(user), window);
    const body = expectProblem(response, 429, 'user-rate-limited');
    expect(passed + 1).toBeGreaterThanOrEqual(PER_MINUTE);
    expect(passed + 1).toBeLessThanOrEqual(window.admittedAtMost(PER_MINUTE));
    expect(body).toMatchObject({ limit: PER_MINUTE });
    expect(body.detail).toMatch(/each user may make 30 requests per minute/);
    const retryAfter = Number(response.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60 / PER_MINUTE);
    expect(body.retry_after).toBe(retryAfter);
    expect(response.headers['ratelimit-remaining']).toBe('0');
  });

  it('counts per user, not per address: switch-tenant and other addresses share the bucket, other users do not', async () => {
    const user = await signUp(testApp.app);
    const neighbour = await signUp(testApp.app);
    const { response } = await untilRefused(() => me(user));
    expectProblem(response, 429, 'user-rate-limited');

    // The same user from another address, and on the other user route: still refused.
    expectProblem(await me(user, testApp.app, '198.51.100.20'), 429, 'user-rate-limited');
    const switched = await testApp.app.inject({
      method: 'POST',
      url: '/v1/auth/switch-tenant',
      headers: bearer(user.accessToken),
      payload: { tenant: user.slug },
    });
    expectProblem(switched, 429, 'user-rate-limited');

    // Another user from the same address has a full bucket of their own.
    const other = await me(neighbour);
    expect(other.statusCode).toBe(200);
    expect(other.headers['ratelimit-remaining']).toBe(String(PER_MINUTE - 1));
    // Tenant routes keep the tenant's own limit, not the user's.
    const members = await testApp.app.inject({ method: 'GET', url: '/v1/members', headers: bearer(user.accessToken) });
    expect(members.statusCode).toBe(200);
  });

  it('lets the user in again once the bucket has refilled', async () => {
    const user = await signUp(testApp.app);
    const { response } = await untilRefused(() => me(user));
    expectProblem(response, 429, 'user-rate-limited');
    const retryAfterMs = Number(response.headers['retry-after']) * 1000;
    // Refill follows real time: poll until it lets a request through, with a generous deadline.
    const deadline = performance.now() + retryAfterMs + 30_000;
    let next = await me(user);
    while (next.statusCode === 429 && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      next = await me(user);
    }
    expect(next.statusCode).toBe(200);
  });
});

describe.skipIf(!withRedis)(`the per-user rate limit through Redis (skipped when no Redis answers at ${REDIS_URL})`, () => {
  it("shares one bucket per user between two instances", async () => {
    const env = { REDIS_URL, TENANTRY_REDIS_KEY_PREFIX: KEY_PREFIX };
    const one = await secondInstance(env);
    const two = await secondInstance(env);
    const user = await signUp(one, {}, testApp.database.admin);
    const { response, passed, window } = await untilRefused((i) => me(user, i % 2 === 0 ? one : two));
    expectProblem(response, 429, 'user-rate-limited');
    // One bucket between them: two instances' own buckets would admit 2 × PER_MINUTE.
    expect(passed).toBeLessThanOrEqual(window.admittedAtMost(PER_MINUTE));
    expect(passed).toBeLessThan(2 * PER_MINUTE);
  });
});
