// Text PostgreSQL cannot store (a NUL, an unpaired UTF-16 surrogate) is refused wherever a
// request carries it, body, query string, path or inside a JSON value: 400 naming the field, nothing written.

import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, expectProblem, signUp, uniqueSlug, type SignedUpTenant } from '../support/fixtures.js';
import { dataFingerprint } from '../support/data-fingerprint.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const ADMIN_TOKEN = 'platform-admin-token-for-unstorable-text-0123456789';
const NUL = '\u0000';
const LONE_SURROGATE = '\ud800';

let testApp: TestApp;
let tenant: SignedUpTenant;
let projectId: string;

beforeAll(async () => {
  testApp = await startTestApp({ TENANTRY_PLATFORM_ADMIN_TOKEN: ADMIN_TOKEN });
  tenant = await signUp(testApp.app);
  const project = await send('POST', '/v1/projects', tenant.accessToken, { name: 'Launch' });
  projectId = project.json().id;
});

afterAll(async () => {
  await testApp.close();
});

/** `payload` goes as given when it is already JSON text (too deep for JSON.stringify). */
function send(method: string, url: string, token: string | undefined, payload?: unknown): Promise<LightMyRequestResponse> {
  const headers = { ...(token ? bearer(token) : {}), ...(payload === undefined ? {} : { 'content-type': 'application/json' }) };
  const body = payload === undefined ? {} : { payload: typeof payload === 'string' ? payload : JSON.stringify(payload) };
  return testApp.app.inject({ method: method as 'POST', url, headers, ...body });
}

/** Sends the request and expects 400 validation-failed naming `field`, with no row written or changed. */
async function expectRefusedNaming(field: string, request: () => Promise<LightMyRequestResponse>): Promise<Record<string, unknown>> {
  const before = await dataFingerprint(testApp.database.admin);
  const problem = expectProblem(await request(), 400, 'validation-failed');
  expect(problem.errors).toContainEqual({ field, message: expect.any(String) });
  expect(await dataFingerprint(testApp.database.admin)).toEqual(before);
  return problem;
}

function signUpBody(overrides: { name?: string; slug?: string; ownerName?: string; password?: string }) {
  const slug = overrides.slug ?? uniqueSlug('text');
  return {
    name: overrides.name ?? 'Acme',
    slug,
    owner: { email: `${uniqueSlug('text')}@example.test`, password: overrides.password ?? 'correct horse battery', name: overrides.ownerName ?? 'Ada' },
  };
}

const owner = () => tenant.accessToken;

/** [what holds the bad character, field named in the answer, the request carrying `bad`]. */
const FIELDS: [string, string, (bad: string) => Promise<LightMyRequestResponse>][] = [
  ['a tenant name', 'body.name', (bad) => send('POST', '/v1/tenants', undefined, signUpBody({ name: `Acme${bad}` }))],
  ["a tenant owner's name", 'body.owner.name', (bad) => send('POST', '/v1/tenants', undefined, signUpBody({ ownerName: `Ada${bad}` }))],
  ["a tenant owner's password", 'body.owner.password', (bad) => send('POST', '/v1/tenants', undefined, signUpBody({ password: `correct horse${bad}` }))],
  ['a project name', 'body.name', (bad) => send('POST', '/v1/projects', owner(), { name: `Plan${bad}` })],
  ['a project description', 'body.description', (bad) => send('PATCH', `/v1/projects/${projectId}`, owner(), { description: bad })],
  ['a task title', 'body.title', (bad) => send('POST', '/v1/tasks', owner(), { projectId, title: `Ship${bad}` })],
  ['a task description', 'body.description', (bad) => send('POST', '/v1/tasks', owner(), { projectId, title: 'Ship', description: bad })],
  ['an API key name', 'body.name', (bad) => send('POST', '/v1/api-keys', owner(), { name: `ci${bad}` })],
  ['a usage metric name', 'body.events.0.metric', (bad) => send('POST', '/v1/usage/events', owner(), { events: [{ metric: `api${bad}`, quantity: 1, idempotency_key: 'k' }] })],
  ['a metric unit', 'body.unit', (bad) => send('POST', '/v1/admin/usage-metrics', ADMIN_TOKEN, { key: 'widgets', unit: `w${bad}`, aggregation: 'sum' })],
  ['a metric description', 'body.description', (bad) => send('POST', '/v1/admin/usage-metrics', ADMIN_TOKEN, { key: 'widgets', unit: 'w', aggregation: 'sum', description: bad })],
  ['a login password', 'body.password', (bad) => send('POST', '/v1/auth/login', undefined, { email: tenant.email, password: `pw${bad}` })],
  ['the tenant named at login', 'body.tenant', (bad) => send('POST', '/v1/auth/login', undefined, { email: tenant.email, password: tenant.password, tenant: bad })],
  ['a refresh token', 'body.refreshToken', (bad) => send('POST', '/v1/auth/refresh', undefined, { refreshToken: `rt_${bad}` })],
  ['an invitation token', 'body.token', (bad) => send('POST', '/v1/auth/accept-invitation', undefined, { token: bad, name: 'Bo', password: 'correct horse battery' })],
  ["an invitee's name", 'body.name', (bad) => send('POST', '/v1/auth/accept-invitation', undefined, { token: 'inv_x', name: `Bo${bad}`, password: 'correct horse battery' })],
  ['the tenant to switch to', 'body.tenant', (bad) => send('POST', '/v1/auth/switch-tenant', owner(), { tenant: bad })],
  ['a setting', 'body.supportUrl', (bad) => send('PATCH', '/v1/tenant/settings', owner(), { supportUrl: `https://help.acme.test/${bad}` })],
  ['the plan to change to', 'body.plan', (bad) => send('PATCH', '/v1/tenant/plan', owner(), { plan: `pro${bad}` })],
  ['the slug confirming a tenant deletion', 'body.confirm', (bad) => send('DELETE', '/v1/tenant', owner(), { confirm: `${tenant.slug}${bad}` })],
  ['a flag description', 'body.description', (bad) => send('PUT', '/v1/admin/flags/beta_banner', ADMIN_TOKEN, { kind: 'boolean', defaultValue: true, description: bad })],
];

describe('a NUL in text', () => {
  for (const [what, field, request] of FIELDS) {
    it(`answers 400 naming ${field} when ${what} holds a NUL`, async () => {
      const problem = await expectRefusedNaming(field, () => request(NUL));
      expect(problem.detail).toContain('NUL');
    });
  }
});

describe('a NUL in a query string or path', () => {
  it('answers 400 naming querystring.q when the task search text holds a NUL (%00)', async () => {
    await expectRefusedNaming('querystring.q', () => send('GET', '/v1/tasks?q=a%00', owner()));
  });

  it('answers 400 naming params.key when a flag key in the path holds a NUL', async () => {
    await expectRefusedNaming('params.key', () => send('PUT', '/v1/flags/dark%00mode', owner(), { value: true }));
  });
});

describe('an unpaired UTF-16 surrogate in text', () => {
  for (const [what, field, request] of FIELDS) {
    it(`answers 400 naming ${field} when ${what} holds a lone surrogate`, async () => {
      await expectRefusedNaming(field, () => request(LONE_SURROGATE));
    });
  }

  it('stores a proper surrogate pair (an emoji) and right-to-left text unchanged', async () => {
    const title = 'Ship 🚀 \u202eשלום\u202c';
    const created = await send('POST', '/v1/tasks', owner(), { projectId, title });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json().title).toBe(title);
  });
});

describe('a usage batch with one bad idempotency key', () => {
  it('is refused whole with 400 naming body.events.3.idempotency_key, and not one event is stored', async () => {
    const events = [0, 1, 2, 3].map((index) => ({ metric: 'tasks', quantity: 1, idempotency_key: index === 3 ? `batch-3${NUL}` : `batch-${index}` }));
    await expectRefusedNaming('body.events.3.idempotency_key', () => send('POST', '/v1/usage/events', owner(), { events }));
    const retried = await send('POST', '/v1/usage/events', owner(), { events: events.slice(0, 3) });
    expect(retried.json()).toMatchObject({ accepted: 3, duplicates: [] });
  });
});

describe('JSON stored as jsonb', () => {
  it('answers 400 naming the property when a usage event property holds a NUL', async () => {
    const events = [{ metric: 'tasks', quantity: 1, idempotency_key: 'props-1', properties: { region: { name: `eu${NUL}` } } }];
    await expectRefusedNaming('body.events.0.properties.region.name', () => send('POST', '/v1/usage/events', owner(), { events }));
  });

  it('answers 400 naming the object when a usage event property key holds a NUL', async () => {
    const events = [{ metric: 'tasks', quantity: 1, idempotency_key: 'props-2', properties: { [`re${NUL}gion`]: 'eu' } }];
    await expectRefusedNaming('body.events.0.properties', () => send('POST', '/v1/usage/events', owner(), { events }));
  });

  it('answers 400 naming the value when a flag variant value holds a NUL, for the tenant and the operator alike', async () => {
    await expectRefusedNaming('body.value', () => send('PUT', '/v1/flags/recall_strategy', owner(), { value: `fts${NUL}` }));
    await expectRefusedNaming('body.value.0', () => send('PUT', `/v1/admin/flags/recall_strategy/tenants/${tenant.tenantId}`, ADMIN_TOKEN, { value: [NUL] }));
    await expectRefusedNaming('body.value.mode', () => send('PUT', '/v1/admin/flags/recall_strategy/plans/pro', ADMIN_TOKEN, { value: { mode: LONE_SURROGATE } }));
    await expectRefusedNaming('body.defaultValue.a', () => send('PUT', '/v1/admin/flags/palette', ADMIN_TOKEN, { kind: 'variant', defaultValue: { a: NUL } }));
  });

  it('answers 400 for a JSON value nested more than 32 levels deep, instead of overflowing a stack', async () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const events = `{"events":[{"metric":"tasks","quantity":1,"idempotency_key":"deep","properties":{"deep":${deep}}}]}`;
    const problem = await expectRefusedNaming(`body.events.0.properties.deep${'.0'.repeat(31)}`, () => send('POST', '/v1/usage/events', owner(), events));
    expect(problem.detail).toContain('32 levels');
  });

  it('stores a JSON value 32 levels deep', async () => {
    let value: unknown = 'bottom';
    for (let level = 1; level < 32; level++) value = [value];
    const events = [{ metric: 'tasks', quantity: 1, idempotency_key: 'deep-ok', properties: { value } }];
    expect((await send('POST', '/v1/usage/events', owner(), { events })).json()).toMatchObject({ accepted: 1 });
  });
});
