// One pagination shape on every list: ?cursor=&limit= in, { data, nextCursor } out. The
// document says so for every list operation, and each list walked a row at a time yields
// every row once, in its order, ending with nextCursor null.

import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addExistingMember, bearer, expectProblem, invite, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { operationsOf } from '../support/openapi-cases.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const ADMIN_TOKEN = 'platform-admin-token-for-list-pagination-0123456789';
let testApp: TestApp;
let owner: SignedUpTenant;
let projectId: string;

beforeAll(async () => {
  testApp = await startTestApp({ TENANTRY_PLATFORM_ADMIN_TOKEN: ADMIN_TOKEN });
  owner = await signUp(testApp.app);
  // Pro: room for the extra members and invitations below.
  await testApp.app.inject({ method: 'PATCH', url: '/v1/tenant/plan', headers: bearer(owner.accessToken), payload: { plan: 'pro' } });
  const project = await testApp.app.inject({ method: 'POST', url: '/v1/projects', headers: bearer(owner.accessToken), payload: { name: 'Paged' } });
  projectId = project.json().id;
  for (let i = 0; i < 2; i++) {
    const person = await signUp(testApp.app);
    await addExistingMember(testApp.app, owner.accessToken, person, 'member');
    const added = await testApp.app.inject({ method: 'POST', url: `/v1/projects/${projectId}/members`, headers: bearer(owner.accessToken), payload: { userId: person.userId } });
    expect(added.statusCode).toBe(201);
  }
  await testApp.app.inject({ method: 'POST', url: `/v1/projects/${projectId}/members`, headers: bearer(owner.accessToken), payload: { userId: owner.userId } });
  for (let i = 0; i < 3; i++) {
    expect((await invite(testApp.app, owner.accessToken, `paged-${i}@example.test`, 'viewer')).statusCode).toBe(201);
    const key = await testApp.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(owner.accessToken), payload: { name: `paged-${i}` } });
    expect(key.statusCode).toBe(201);
  }
});

afterAll(async () => {
  await testApp.close();
});

/**
 * Platform catalogs, answered whole from the in-memory catalog snapshot: a few dozen rows
 * the operator defines, not tenant data that grows. Not paginated (yet); listed so a new list is not missed.
 */
const CATALOGS = new Set(['/v1/plans', '/v1/admin/plans', '/v1/flags', '/v1/admin/flags', '/v1/usage/metrics']);

describe('the OpenAPI document', () => {
  it('gives every list operation ?cursor=&limit= and a { data, nextCursor } answer', async () => {
    const document = (await testApp.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const lists = operationsOf(document).filter((operation) => {
      const answer = document.paths[operation.path][operation.method.toLowerCase()].responses['200']?.content?.['application/json']?.schema;
      return operation.method === 'GET' && answer?.properties?.data?.type === 'array' && !CATALOGS.has(operation.path);
    });
    expect(lists.length).toBeGreaterThanOrEqual(8);
    const shapes = lists.map((operation) => {
      const answer = document.paths[operation.path].get.responses['200'].content['application/json'].schema;
      const query = operation.parameters.filter((parameter) => parameter.in === 'query').map((parameter) => parameter.name);
      return { list: operation.path, cursor: query.includes('cursor'), limit: query.includes('limit'), answer: answer.required };
    });
    expect(shapes).toEqual(lists.map((operation) => ({ list: operation.path, cursor: true, limit: true, answer: ['data', 'nextCursor'] })));
  });
});

/** Every page of a list, one row at a time. */
async function walk(url: string, token: string, idOf: (row: Record<string, unknown>) => unknown): Promise<unknown[]> {
  const seen: unknown[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 100; pages++) {
    const response: LightMyRequestResponse = await testApp.app.inject({ method: 'GET', url: `${url}?limit=1${cursor ? `&cursor=${cursor}` : ''}`, headers: bearer(token) });
    expect(response.statusCode, response.body).toBe(200);
    const page: { data: Record<string, unknown>[]; nextCursor: string | null } = response.json();
    seen.push(...page.data.map(idOf));
    cursor = page.nextCursor;
    if (cursor === null) return seen;
  }
  throw new Error(`${url} did not end`);
}

const LISTS: [string, () => string, string, (row: Record<string, unknown>) => unknown][] = [
  ['/v1/members', () => owner.accessToken, 'userId', (row) => row.userId],
  ['/v1/invitations', () => owner.accessToken, 'invitationId', (row) => row.invitationId],
  ['/v1/api-keys', () => owner.accessToken, 'id', (row) => row.id],
  ['/v1/projects/{id}/members', () => owner.accessToken, 'userId', (row) => row.userId],
  ['/v1/admin/tenants', () => ADMIN_TOKEN, 'id', (row) => row.id],
];

for (const [path, token, key, idOf] of LISTS) {
  describe(`GET ${path}`, () => {
    const url = () => path.replace('{id}', projectId);

    it(`pages one ${key} at a time through the same rows, in the same order, as one full page`, async () => {
      const whole = await testApp.app.inject({ method: 'GET', url: `${url()}?limit=100`, headers: bearer(token()) });
      const all = whole.json().data.map(idOf);
      expect(whole.json().nextCursor).toBeNull();
      expect(all.length).toBeGreaterThanOrEqual(3);
      expect(await walk(url(), token(), idOf)).toEqual(all);
    });

    it('answers 400 naming querystring.cursor for an altered cursor', async () => {
      const first = (await testApp.app.inject({ method: 'GET', url: `${url()}?limit=1`, headers: bearer(token()) })).json();
      const altered = Buffer.from(Buffer.from(first.nextCursor, 'base64url').toString().replace(/"(asc|desc)"/, '"sideways"')).toString('base64url');
      const response = await testApp.app.inject({ method: 'GET', url: `${url()}?cursor=${altered}`, headers: bearer(token()) });
      expect(expectProblem(response, 400, 'validation-failed').errors).toEqual([{ field: 'querystring.cursor', message: expect.any(String) }]);
    });
  });
}
