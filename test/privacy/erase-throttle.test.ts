// POST /v1/me/erase is destructive and checks a password: a few attempts a minute per user,
// then 429 erasure-throttled with Retry-After, and nothing is erased; other users keep theirs.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, expectProblem, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let testApp: TestApp;
let person: SignedUpTenant;
let other: SignedUpTenant;

beforeAll(async () => {
  testApp = await startTestApp({ TENANTRY_RATE_LIMITS: 'true' });
  person = await signUp(testApp.app);
  other = await signUp(testApp.app);
});

afterAll(async () => {
  await testApp?.close();
});

function erase(who: SignedUpTenant, password: string) {
  return testApp.app.inject({ method: 'POST', url: '/v1/me/erase', headers: bearer(who.accessToken), payload: { password } });
}

describe('POST /v1/me/erase throttle', () => {
  it('answers 429 erasure-throttled with Retry-After after 3 attempts a minute, even with the right password, and erases nothing', async () => {
    for (let i = 0; i < 3; i++) expectProblem(await erase(person, `wrong password number ${i}`), 401, 'invalid-credentials');
    const refused = await erase(person, person.password);
    const problem = expectProblem(refused, 429, 'erasure-throttled');
    expect(problem).toMatchObject({ limit: 3, retry_after: expect.any(Number) });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    const { rows } = await testApp.database.admin.query(`SELECT email, deleted_at FROM users WHERE id = $1`, [person.userId]);
    expect(rows[0]).toEqual({ email: person.email, deleted_at: null });
  });

  it("counts per user: another user's attempt is not throttled", async () => {
    expectProblem(await erase(other, 'a wrong password again'), 401, 'invalid-credentials');
  });
});
