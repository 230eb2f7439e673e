// Per-tenant rate limits: a token bucket per tenant sized by its plan. One tenant flooding at
// 10x its limit does not cost another tenant a single request; with Redis, two instances
// share one bucket per tenant; if Redis fails, each instance falls back to its own buckets.

import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
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

const KEY_PREFIX = `test:ratelimit:${process.pid}:${Date.now()}:`;
const PLAN = 'ratelimit_tiny';
const PER_MINUTE = 10;

const withRedis = await redisAnswers(REDIS_URL);

let testApp: TestApp;
const extraApps: Array<{ app: FastifyInstance; close: () => Promise<void> }> = [];

/** Another app instance on the same database (like a second server), with its own env. */
async function secondInstance(env: Record<string, string>, logs: string[] = []): Promise<FastifyInstance> {
  const config = loadConfig({ TENANTRY_JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'error', TENANTRY_RATE_LIMITS: 'true', TENANTRY_MAX_EVENT_LOOP_DELAY_MS: '0', ...env });
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const logger = createLogger('error', sink);
  const pool = patient(createPool(testApp.database.url, 4, logger));
  const app = await buildApp(createServices({ modules: TEST_MODULES, config, jwt: config.jwt!, pool, clock: testApp.clock, logger }));
  await app.ready();
  extraApps.push({ app, close: async () => (await app.close(), await pool.end()) });
  return app;
}

beforeAll(async () => {
  testApp = await startTestApp({ TENANTRY_RATE_LIMITS: 'true' });
  await testApp.database.admin.query(
    `INSERT INTO plans (key, name, monthly_price_cents, limits, api_rate_limit_per_minute, sort_order) VALUES ($1, 'Tiny', 0, '{}', $2, 2)`,
    [PLAN, PER_MINUTE],
  );
});

afterAll(async () => {
  for (const extra of extraApps) await extra.close();
  await testApp.close();
});

async function tenantOnTinyPlan(app: FastifyInstance = testApp.app): Promise<SignedUpTenant> {
  const tenant = await signUp(app, {}, testApp.database.admin);
  await testApp.database.admin.query('UPDATE tenants SET plan = $2 WHERE id = $1', [tenant.tenantId, PLAN]);
  return tenant;
}

function list(app: FastifyInstance, tenant: SignedUpTenant) {
  return app.inject({ method: 'GET', url: '/v1/members', headers: bearer(tenant.accessToken) });
}

describe('per-tenant rate limits, in process', () => {
  it('keeps a tenant flooding at 10x its limit from taking any request of another tenant', async () => {
    const noisy = await tenantOnTinyPlan();
    const quiet = await tenantOnTinyPlan();
    const window = bucketWindow();
    const flood = Array.from({ length: PER_MINUTE * 10 }, () => list(testApp.app, noisy));
    const polite = Array.from({ length: PER_MINUTE }, () => list(testApp.app, quiet));
    const [noisyAnswers, quietAnswers] = await Promise.all([Promise.all(flood), Promise.all(polite)]);
    expect(quietAnswers.map((response) => response.statusCode)).toEqual(Array(PER_MINUTE).fill(200));
    const noisyOk = noisyAnswers.filter((response) => response.statusCode === 200).length;
    // The bucket starts full, and refills only as fast as the plan says while the flood runs.
    expect(noisyOk).toBeGreaterThanOrEqual(PER_MINUTE);
    expect(noisyOk).toBeLessThanOrEqual(window.admittedAtMost(PER_MINUTE));
  });

  it('answers 429 rate-limited with Retry-After, and RateLimit headers on every tenant response', async () => {
    const tenant = await tenantOnTinyPlan();
    const window = bucketWindow();
    const first = await list(testApp.app, tenant);
    expect(first.headers['ratelimit-limit']).toBe(String(PER_MINUTE));
    expect(first.headers['ratelimit-remaining']).toBe(String(PER_MINUTE - 1));
    expect(Number(first.headers['ratelimit-reset'])).toBeGreaterThan(0);
    // Until the bucket runs dry: after PER_MINUTE requests, or a few more if tokens refilled meanwhile.
    let sent = 1;
    let refused = first;
    while (refused.statusCode === 200 && sent <= window.admittedAtMost(PER_MINUTE)) {
      refused = await list(testApp.app, tenant);
      sent += 1;
    }
    const body = expectProblem(refused, 429, 'rate-limited');
    expect(body.limit).toBe(PER_MINUTE);
    expect(refused.headers['ratelimit-remaining']).toBe('0');
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60 / PER_MINUTE);
  });

  it('does not limit public routes or count them as API calls', async () => {
    const health = await testApp.app.inject({ method: 'GET', url: '/healthz' });
    expect(health.headers['ratelimit-limit']).toBeUndefined();
  });
});

describe.skipIf(!withRedis)(`per-tenant rate limits through Redis (skipped when no Redis answers at ${REDIS_URL})`, () => {
  it('shares one bucket per tenant between two instances', async () => {
    const env = { REDIS_URL, TENANTRY_REDIS_KEY_PREFIX: KEY_PREFIX };
    const one = await secondInstance(env);
    const two = await secondInstance(env);
    const tenant = await tenantOnTinyPlan(one);
    const window = bucketWindow();
    const answers = [];
    for (let i = 0; i < PER_MINUTE * 2; i++) answers.push(await list(i % 2 === 0 ? one : two, tenant));
    const ok = answers.filter((response) => response.statusCode === 200).length;
    // One bucket between them: two instances' own buckets would admit all 2 × PER_MINUTE.
    expect(ok).toBeGreaterThanOrEqual(PER_MINUTE);
    expect(ok).toBeLessThanOrEqual(window.admittedAtMost(PER_MINUTE));
    expect(ok).toBeLessThan(2 * PER_MINUTE);
  });
});

describe('when Redis fails', () => {
  it("falls back to the instance's own bucket: still limited, never refusing everyone", async () => {
    const logs: string[] = [];
    const broken = await secondInstance({ REDIS_URL: 'redis://127.0.0.1:1', TENANTRY_REDIS_KEY_PREFIX: KEY_PREFIX }, logs);
    const tenant = await tenantOnTinyPlan(broken);
    const window = bucketWindow();
    const answers = [];
    for (let i = 0; i < PER_MINUTE * 2; i++) answers.push(await list(broken, tenant));
    const ok = answers.filter((response) => response.statusCode === 200).length;
    expect(ok).toBeGreaterThanOrEqual(PER_MINUTE);
    expect(ok).toBeLessThanOrEqual(window.admittedAtMost(PER_MINUTE));
    expect(answers.map((response) => response.statusCode)).toContain(429);
    expect(logs.join('')).toContain("shared rate limits unavailable; using this instance's buckets");
  });
});
