// The public credential routes are throttled per client address and per email before any
// argon2 work: online password guessing is slow, and a login flood cannot eat the CPU. The
// client address is the socket's peer, or behind a proxy named in TENANTRY_TRUST_PROXY the
// client it forwards for; nobody else can choose their address with X-Forwarded-For.

import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDENTIAL_ATTEMPTS_PER_MINUTE } from '../../src/auth/credential-throttle.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { expectProblem, login, signUp } from '../support/fixtures.js';
import { startTestApp, TEST_JWT_SECRET, type TestApp } from '../support/test-app.js';
import { bucketWindow } from '../support/token-buckets.js';

const PROXY = '10.0.0.1';
const PER_ADDRESS = CREDENTIAL_ATTEMPTS_PER_MINUTE.perAddress;

let testApp: TestApp;
let behindProxy: TestApp;

beforeAll(async () => {
  [testApp, behindProxy] = await Promise.all([
    startTestApp({ TENANTRY_RATE_LIMITS: 'true' }),
    startTestApp({ TENANTRY_RATE_LIMITS: 'true', TENANTRY_TRUST_PROXY: `${PROXY},192.0.2.0/24` }),
  ]);
});

afterAll(async () => {
  await Promise.all([testApp?.close(), behindProxy?.close()]);
});

/** A refresh attempt (cheap: no argon2) from `peer`, claiming to forward for `forwardedFor`. */
function refreshFrom(app: FastifyInstance, peer: string, forwardedFor?: string): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url: '/v1/auth/refresh',
    remoteAddress: peer,
    headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {},
    payload: { refreshToken: 'not-a-refresh-token' },
  });
}

/** Attempts until the first 429 (or one past what a full bucket may admit); returns it and how many passed before it. */
async function untilThrottled(attempt: (index: number) => Promise<LightMyRequestResponse>, perMinute: number) {
  const window = bucketWindow();
  let passed = 0;
  for (;;) {
    const response = await attempt(passed);
    if (response.statusCode === 429 || passed > window.admittedAtMost(perMinute)) return { response, passed, window };
    passed += 1;
  }
}

describe('password guessing against one account', () => {
  it('is throttled (429) well before 30 wrong attempts in a row', async () => {
    const victim = await signUp(testApp.app);
    const window = bucketWindow();
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 30; attempt++) {
      statuses.push((await login(testApp.app, victim.email, `guess-${attempt}`)).statusCode);
      if (statuses.at(-1) === 429) break;
    }
    expect(statuses).toContain(429);
    // 10 attempts per email, plus what refilled while slow (argon2) attempts ran.
    expect(statuses.indexOf(429)).toBeLessThanOrEqual(window.admittedAtMost(10));
    // Another account from the same address still gets its own per-email allowance.
    const other = await signUp(testApp.app);
    expect((await login(testApp.app, other.email, other.password)).statusCode).toBe(200);
  });

  it('answers 429 sign-in-throttled naming the email scope, with Retry-After', async () => {
    const victim = await signUp(testApp.app);
    // From an address of its own: the file's other attempts share 127.0.0.1's bucket.
    const guess = (i: number) =>
      testApp.app.inject({ method: 'POST', url: '/v1/auth/login', remoteAddress: '198.51.100.4', payload: { email: victim.email, password: `guess-${i}` } });
    const { response } = await untilThrottled(guess, CREDENTIAL_ATTEMPTS_PER_MINUTE.perEmail);
    const body = expectProblem(response, 429, 'sign-in-throttled');
    expect(body).toMatchObject({ scope: 'email', limit: CREDENTIAL_ATTEMPTS_PER_MINUTE.perEmail });
    expect(body.detail).toMatch(/sign-in attempts for this email .*retry in \d+ s/);
    const retryAfter = Number(response.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60 / CREDENTIAL_ATTEMPTS_PER_MINUTE.perEmail);
    expect(body.retry_after).toBe(retryAfter);
  });
});

describe('the per-address sign-in throttle', () => {
  it('answers 429 sign-in-throttled naming the address scope, with Retry-After', async () => {
    const { response, passed, window } = await untilThrottled(() => refreshFrom(testApp.app, '198.51.100.1'), PER_ADDRESS);
    const body = expectProblem(response, 429, 'sign-in-throttled');
    expect(passed).toBeGreaterThanOrEqual(PER_ADDRESS);
    expect(passed).toBeLessThanOrEqual(window.admittedAtMost(PER_ADDRESS));
    expect(body).toMatchObject({ scope: 'address', limit: PER_ADDRESS });
    expect(body.detail).toMatch(/sign-in attempts from this address .*retry in \d+ s/);
    expect(Number(response.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(response.headers['retry-after'])).toBeLessThanOrEqual(60 / PER_ADDRESS);
  });

  it('ignores X-Forwarded-For by default: a fresh forged address per request gets no fresh bucket', async () => {
    const { response } = await untilThrottled((i) => refreshFrom(testApp.app, '198.51.100.2', `203.0.113.${i % 250}`), PER_ADDRESS);
    expect(expectProblem(response, 429, 'sign-in-throttled').scope).toBe('address');
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy, also when some proxy is trusted', async () => {
    const { response } = await untilThrottled((i) => refreshFrom(behindProxy.app, '198.51.100.3', `203.0.113.${i % 250}`), PER_ADDRESS);
    expect(expectProblem(response, 429, 'sign-in-throttled').scope).toBe('address');
  });

  it('gives each client behind a trusted proxy its own bucket', async () => {
    const { response } = await untilThrottled(() => refreshFrom(behindProxy.app, PROXY, '203.0.113.5'), PER_ADDRESS);
    expectProblem(response, 429, 'sign-in-throttled');
    // Another client through the same proxy is not throttled: its refresh is judged (401) ...
    expectProblem(await refreshFrom(behindProxy.app, PROXY, '203.0.113.6'), 401, 'invalid-credentials');
    // ... and a real user of it signs in, through a proxy inside the trusted CIDR too.
    const user = await signUp(behindProxy.app);
    const signIn = await behindProxy.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      remoteAddress: '192.0.2.7',
      headers: { 'x-forwarded-for': '203.0.113.7' },
      payload: { email: user.email, password: user.password },
    });
    expect(signIn.statusCode).toBe(200);
    // While the first client stays throttled.
    expectProblem(await refreshFrom(behindProxy.app, PROXY, '203.0.113.5'), 429, 'sign-in-throttled');
  });
});

describe('TENANTRY_TRUST_PROXY', () => {
  const configWith = (value: string) => loadConfig({ TENANTRY_JWT_SECRET: TEST_JWT_SECRET, TENANTRY_TRUST_PROXY: value });

  it('is off unless set', () => {
    expect(loadConfig({ TENANTRY_JWT_SECRET: TEST_JWT_SECRET }).trustProxy).toBe(false);
    expect(configWith('false').trustProxy).toBe(false);
  });

  it('takes comma-separated addresses, CIDRs and proxy-addr names', () => {
    expect(configWith('10.0.0.0/8, ::1,fd00::/8 ,loopback').trustProxy).toEqual(['10.0.0.0/8', '::1', 'fd00::/8', 'loopback']);
  });

  it.each([
    ['true', /may not be true/],
    ['2', /may not be a hop count/],
    ['10.0.0.0/33', /"10.0.0.0\/33"/],
    ['proxy.internal', /"proxy.internal"/],
    ['10.0.0.1,', /""/],
  ])('refuses %s', (value, message) => {
    expect(() => configWith(value)).toThrow(ConfigError);
    expect(() => configWith(value)).toThrow(message);
  });
});
