// Tenantry mounted in a host app under /api: the host's routes keep Fastify's own behaviour
// (no Tenantry access check, validator, error format or hook reaches them) and Tenantry's
// routes, the invoices module's included, work under the prefix.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { platformModules } from 'tenantry';
import { bearer } from '../../../test/support/fixtures.js';
import { signUpLinkToken } from '../../../test/support/prove-email.js';
import { startTestApp, type TestApp } from '../../../test/support/test-app.js';
import { buildInvoicesApp } from '../src/app.js';
import { invoicesModule } from '../src/invoices.module.js';

let testApp: TestApp;

beforeAll(async () => {
  testApp = await startTestApp({}, { modules: [...platformModules, invoicesModule], build: buildInvoicesApp });
});

afterAll(async () => {
  await testApp?.close();
});

describe("the host app's own routes", () => {
  it('answer without a credential: no Tenantry default access reaches them', async () => {
    const response = await testApp.app.inject({ method: 'GET', url: '/' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ app: 'invoices', api: '/api/docs' });
    expect(response.headers['x-request-id']).toBeUndefined();
  });

  it("validate and fail in Fastify's own format, not problem+json", async () => {
    const coerced = await testApp.app.inject({ method: 'POST', url: '/echo', payload: { n: '7' } });
    // Fastify's default validator coerces; Tenantry's body validator would refuse a string.
    expect(coerced.statusCode).toBe(200);
    expect(coerced.json()).toEqual({ n: 7 });
    const invalid = await testApp.app.inject({ method: 'POST', url: '/echo', payload: {} });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.headers['content-type']).toMatch(/^application\/json/);
    expect(invalid.json()).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    const text = await testApp.app.inject({ method: 'POST', url: '/echo', payload: 'plain', headers: { 'content-type': 'text/plain' } });
    // Tenantry removes the text/plain parser inside its plugin only.
    expect(text.statusCode).toBe(400);
    expect(text.json().message).toMatch(/body must be object/);
  });

  it("answer an unknown host path with Fastify's 404, and leave Tenantry's OpenAPI document to Tenantry's routes", async () => {
    const missing = await testApp.app.inject({ method: 'GET', url: '/nowhere' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error: 'Not Found' });
    const document = (await testApp.app.inject({ method: 'GET', url: '/api/openapi.json' })).json();
    const paths = Object.keys(document.paths);
    expect(paths).toContain('/api/v1/invoices/{id}');
    expect(paths).toContain('/api/healthz');
    expect(paths.filter((path) => !path.startsWith('/api/'))).toEqual([]);
  });
});

describe("Tenantry's routes under the prefix", () => {
  it('sign up, authenticate and answer problem+json, the module’s routes included', async () => {
    const signUp = await testApp.app.inject({
      method: 'POST',
      url: '/api/v1/tenants',
      payload: { name: 'Host Co', slug: 'host-co', owner: { email: 'owner@host.test', password: 'correct horse battery staple', name: 'O' } },
    });
    expect(signUp.statusCode, signUp.body).toBe(202);
    // The owner follows the mailed link with the password: that creates the tenant.
    const confirmed = await testApp.app.inject({
      method: 'POST',
      url: '/api/v1/tenants/confirm',
      payload: { token: await signUpLinkToken(testApp.app, 'owner@host.test'), password: 'correct horse battery staple' },
    });
    expect(confirmed.statusCode, confirmed.body).toBe(201);
    const token = confirmed.json().accessToken as string;
    const unauthenticated = await testApp.app.inject({ method: 'GET', url: '/api/v1/invoices' });
    expect(unauthenticated.statusCode).toBe(401);
    expect(unauthenticated.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(unauthenticated.json().instance).toBe('/api/v1/invoices');
    const list = await testApp.app.inject({ method: 'GET', url: '/api/v1/invoices', headers: bearer(token) });
    expect(list.statusCode).toBe(200);
    expect(list.headers['x-request-id']).toBeDefined();
    const unknown = await testApp.app.inject({ method: 'GET', url: '/api/v1/nothing-here', headers: bearer(token) });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().type).toMatch(/route-not-found$/);
  });

  it('keep liveness unshed and answering under the prefix', async () => {
    const response = await testApp.app.inject({ method: 'GET', url: '/api/healthz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });
});
