// Bad input is answered, never half-done: malformed JSON, wrong types, missing or unknown
// fields, oversized or non-JSON bodies get a 4xx problem+json and write nothing.

import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, expectProblem, signUp, uniqueSlug, type SignedUpTenant } from '../support/fixtures.js';
import { rowCounts, type RowCounts } from '../support/row-counts.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const BODY_LIMIT = 2048;

let testApp: TestApp;
let tenant: SignedUpTenant;
let before: RowCounts;

beforeAll(async () => {
  testApp = await startTestApp({ TENANTRY_BODY_LIMIT: String(BODY_LIMIT) });
  tenant = await signUp(testApp.app);
  before = await rowCounts(testApp.database.admin);
});

afterAll(async () => {
  // Every request in this file was refused, so not one row may have been written.
  expect(await rowCounts(testApp.database.admin)).toEqual(before);
  await testApp.close();
});

function validSignUp(): Record<string, unknown> {
  const slug = uniqueSlug('bad');
  return { name: 'Acme', slug, owner: { email: `${slug}@example.test`, password: 'correct horse battery staple', name: 'Owner' } };
}

function postJson(url: string, payload: unknown, headers: Record<string, string> = {}) {
  return testApp.app.inject({ method: 'POST', url, payload: JSON.stringify(payload), headers: { 'content-type': 'application/json', ...headers } });
}

/** A problem+json answer with the RFC 9457 members, and nothing written. */
async function expectRefused(response: LightMyRequestResponse, status: number, code: string): Promise<Record<string, unknown>> {
  const problem = expectProblem(response, status, code);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(problem).toMatchObject({ type: expect.any(String), title: expect.any(String), status, detail: expect.any(String) });
  expect(await rowCounts(testApp.database.admin)).toEqual(before);
  return problem;
}

describe('malformed bodies', () => {
  it('returns 400 malformed-json for a body that is not JSON', async () => {
    const response = await testApp.app.inject({
      method: 'POST',
      url: '/v1/tenants',
      payload: '{"name": "Acme", "slug": ',
      headers: { 'content-type': 'application/json' },
    });
    await expectRefused(response, 400, 'malformed-json');
  });

  it('returns 400 malformed-json for an empty JSON body', async () => {
    const response = await testApp.app.inject({ method: 'POST', url: '/v1/tenants', payload: '', headers: { 'content-type': 'application/json' } });
    await expectRefused(response, 400, 'malformed-json');
  });

  it('returns 400 for a body that tries to set __proto__', async () => {
    const response = await testApp.app.inject({
      method: 'POST',
      url: '/v1/tenants',
      payload: '{"name":"Acme","__proto__":{"admin":true}}',
      headers: { 'content-type': 'application/json' },
    });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('returns 415 for a text/plain body', async () => {
    const response = await testApp.app.inject({
      method: 'POST',
      url: '/v1/tenants',
      payload: JSON.stringify(validSignUp()),
      headers: { 'content-type': 'text/plain' },
    });
    await expectRefused(response, 415, 'unsupported-media-type');
  });

  it(`returns 413 for a body over TENANTRY_BODY_LIMIT (${BODY_LIMIT} bytes)`, async () => {
    const response = await postJson('/v1/tenants', { ...validSignUp(), name: 'x'.repeat(BODY_LIMIT) });
    await expectRefused(response, 413, 'payload-too-large');
  });
});

describe('schema violations', () => {
  it('returns 400 for a number where a string belongs, without coercing it', async () => {
    const problem = await expectRefused(await postJson('/v1/tenants', { ...validSignUp(), name: 123 }), 400, 'validation-failed');
    expect(problem.errors).toContainEqual(expect.objectContaining({ field: 'body.name' }));
  });

  it('returns 400 for a boolean where a string belongs, without coercing it', async () => {
    const body = validSignUp();
    const owner = { ...(body.owner as object), password: true };
    await expectRefused(await postJson('/v1/tenants', { ...body, owner }), 400, 'validation-failed');
  });

  it('returns 400 naming a missing field', async () => {
    const { owner: _owner, ...withoutOwner } = validSignUp();
    const problem = await expectRefused(await postJson('/v1/tenants', withoutOwner), 400, 'validation-failed');
    expect(problem.errors).toContainEqual(expect.objectContaining({ field: 'body.owner' }));
  });

  it('returns 400 naming an unknown field', async () => {
    const problem = await expectRefused(await postJson('/v1/tenants', { ...validSignUp(), isAdmin: true }), 400, 'validation-failed');
    expect(problem.errors).toContainEqual({ field: 'body.isAdmin', message: 'is not an allowed field' });
  });

  it('returns 400 for an unknown field nested in the owner', async () => {
    const body = validSignUp();
    const owner = { ...(body.owner as object), role: 'platform-admin' };
    await expectRefused(await postJson('/v1/tenants', { ...body, owner }), 400, 'validation-failed');
  });

  it('returns 400 for a password shorter than ten characters', async () => {
    const body = validSignUp();
    const owner = { ...(body.owner as object), password: 'short' };
    await expectRefused(await postJson('/v1/tenants', { ...body, owner }), 400, 'validation-failed');
  });

  it('returns 400 for an email that is not one', async () => {
    const body = validSignUp();
    const owner = { ...(body.owner as object), email: 'not-an-email' };
    await expectRefused(await postJson('/v1/tenants', { ...body, owner }), 400, 'validation-failed');
  });

  it('returns 400 for a JSON array instead of an object', async () => {
    await expectRefused(await postJson('/v1/tenants', [validSignUp()]), 400, 'validation-failed');
  });

  it('returns 400 for wrong types on an authenticated route', async () => {
    const response = await postJson('/v1/members', { email: 'someone@example.test', role: 'superuser' }, bearer(tenant.accessToken));
    await expectRefused(response, 400, 'validation-failed');
    const typed = await postJson('/v1/api-keys', { name: 42 }, bearer(tenant.accessToken));
    await expectRefused(typed, 400, 'validation-failed');
  });

  it('returns 400 for a path id that is not a UUID', async () => {
    const response = await testApp.app.inject({ method: 'DELETE', url: '/v1/api-keys/not-a-uuid', headers: bearer(tenant.accessToken) });
    await expectRefused(response, 400, 'validation-failed');
  });
});

describe('unknown routes', () => {
  it('returns 404 problem+json', async () => {
    const response = await testApp.app.inject({ method: 'GET', url: '/v1/nothing-here?x=1' });
    const problem = await expectRefused(response, 404, 'route-not-found');
    expect(problem.instance).toBe('/v1/nothing-here');
  });

  it('returns 405 problem+json with Allow for a known path with another method', async () => {
    const response = await testApp.app.inject({ method: 'PUT', url: '/v1/tenants' });
    await expectRefused(response, 405, 'method-not-allowed');
    expect(response.headers.allow).toBe('POST');
  });
});
