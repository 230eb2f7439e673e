// The public credential routes are throttled per client address and per email before any
// argon2 work: online password guessing is slow, and a login flood cannot eat the CPU.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, signUp } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { bucketWindow } from '../support/token-buckets.js';

let testApp: TestApp;

beforeAll(async () => {
  testApp = await startTestApp({ TENANTRY_RATE_LIMITS: 'true' });
});

afterAll(async () => {
  await testApp.close();
});

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
});
