// Every paginated route refuses a position that names no real instant: a cursor shaped
// right but holding month 13, 30 February or hour 25 is a 400, never a database error.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, expectProblem, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const ADMIN_TOKEN = 'platform-admin-token-for-cursor-tests-0123456789';
const ID = '01900000-0000-7000-8000-000000000000';

let testApp: TestApp;
let tenant: SignedUpTenant;

beforeAll(async () => {
  testApp = await startTestApp({ TENANTRY_PLATFORM_ADMIN_TOKEN: ADMIN_TOKEN });
  tenant = await signUp(testApp.app);
  // The tenant audit log is a pro feature: without it the route answers 403 before reading the cursor.
  const upgraded = await testApp.app.inject({ method: 'PATCH', url: '/v1/tenant/plan', headers: bearer(tenant.accessToken), payload: { plan: 'pro' } });
  expect(upgraded.statusCode).toBe(200);
});

afterAll(async () => {
  await testApp.close();
});

/** A cursor as the server encodes one, around any position text. */
function cursor(at: string, sort = 'desc'): string {
  return Buffer.from(JSON.stringify([at, ID, sort])).toString('base64url');
}

const ROUTES: [string, () => Record<string, string>][] = [
  ['/v1/tasks', () => bearer(tenant.accessToken)],
  ['/v1/projects', () => bearer(tenant.accessToken)],
  ['/v1/audit', () => bearer(tenant.accessToken)],
  ['/v1/admin/audit', () => bearer(ADMIN_TOKEN)],
  ['/v1/admin/tenants', () => bearer(ADMIN_TOKEN)],
  ['/v1/members', () => bearer(tenant.accessToken)],
  ['/v1/invitations', () => bearer(tenant.accessToken)],
  ['/v1/api-keys', () => bearer(tenant.accessToken)],
];

/** The order each list pages in: its cursors carry it, and a cursor of the other order is refused. */
const SORT: Record<string, string> = { '/v1/admin/tenants': 'asc', '/v1/members': 'asc', '/v1/invitations': 'asc' };

const IMPOSSIBLE = [
  ['month 13', '2024-13-01T00:00:00.000000Z'],
  ['30 February', '2024-02-30T00:00:00.000000Z'],
  ['hour 25', '2024-02-03T25:00:00.000000Z'],
  ['hour 24', '2024-02-03T24:00:00.000000Z'],
  ['minute 61', '2024-02-03T10:61:00.000000Z'],
  ['year 0', '0000-02-03T10:00:00.000000Z'],
];

for (const [route, headers] of ROUTES) {
  describe(`GET ${route}`, () => {
    it('pages with a cursor that names a real instant', async () => {
      const response = await testApp.app.inject({ method: 'GET', url: `${route}?cursor=${cursor('2024-02-29T23:59:59.999999Z', SORT[route])}`, headers: headers() });
      expect(response.statusCode, response.body).toBe(200);
    });

    for (const [what, at] of IMPOSSIBLE) {
      it(`answers 400 naming querystring.cursor for a cursor at ${what}`, async () => {
        const response = await testApp.app.inject({ method: 'GET', url: `${route}?cursor=${cursor(at!, SORT[route])}`, headers: headers() });
        const problem = expectProblem(response, 400, 'validation-failed');
        expect(problem.errors).toEqual([{ field: 'querystring.cursor', message: expect.any(String) }]);
      });
    }
  });
}

describe('the other positions and ranges', () => {
  it('answers 400 for GET /v1/admin/tenants?after=, the position parameter it no longer has', async () => {
    const response = await testApp.app.inject({ method: 'GET', url: `/v1/admin/tenants?after=${ID}`, headers: bearer(ADMIN_TOKEN) });
    expect(expectProblem(response, 400, 'validation-failed').errors).toContainEqual(expect.objectContaining({ field: 'querystring.after' }));
  });

  for (const [what, at] of [
    ['30 February', '2024-02-30T00:00:00Z'],
    ['a leap second', '2016-12-31T23:59:60Z'],
    ['year 0', '0000-01-01T00:00:00Z'],
  ]) {
    it(`answers 400 for GET /v1/usage with from at ${what}`, async () => {
      const response = await testApp.app.inject({ method: 'GET', url: `/v1/usage?from=${at}`, headers: bearer(tenant.accessToken) });
      expect(expectProblem(response, 400, 'validation-failed').errors).toContainEqual(expect.objectContaining({ field: 'querystring.from' }));
    });
  }
});
