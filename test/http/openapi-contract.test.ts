// Facts /openapi.json must state, asserted on the document itself: errors are problem+json
// with one shared schema, every operation the rate limiter guards declares 429, credentials
// and database faults are declared with their headers, and the rules the server applies to
// flag definitions and settings are in the schemas a client reads.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEX_COLOR_PATTERN } from '../../src/settings/setting-definitions.js';
import { bearer, signUp, type SignedUpTenant } from '../support/fixtures.js';
import type { JsonSchema } from '../support/openapi-cases.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const ADMIN_TOKEN = 'platform-admin-token-for-the-openapi-contract-0123456789';
const SOME_ID = '01900000-0000-7000-8000-000000000001';

interface Response {
  description: string;
  headers?: Record<string, unknown>;
  content?: Record<string, { schema: JsonSchema }>;
}
interface Operation {
  method: string;
  path: string;
  security?: Record<string, unknown>[];
  requestBody?: { content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, Response>;
}

let testApp: TestApp;
let tenant: SignedUpTenant;
let document: { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, JsonSchema> } };
let operations: Operation[];

beforeAll(async () => {
  testApp = await startTestApp({ TENANTRY_PLATFORM_ADMIN_TOKEN: ADMIN_TOKEN, TENANTRY_RATE_LIMITS: 'true' });
  tenant = await signUp(testApp.app);
  // Pro: a rate limit (600 a minute) this file never reaches, so every answer carries its headers.
  await testApp.app.inject({ method: 'PATCH', url: '/v1/tenant/plan', headers: bearer(tenant.accessToken), payload: { plan: 'pro' } });
  document = (await testApp.app.inject({ method: 'GET', url: '/openapi.json' })).json();
  operations = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ ...operation, method: method.toUpperCase(), path })),
  );
});

afterAll(async () => {
  await testApp.close();
});

function operation(method: string, path: string): Operation {
  return operations.find((candidate) => candidate.method === method && candidate.path === path)!;
}

const label = (op: Operation) => `${op.method} ${op.path}`;

describe('error answers', () => {
  it('are application/problem+json, and only that, with the shared Problem schema, on every operation', () => {
    const errors = operations.flatMap((op) =>
      Object.entries(op.responses)
        .filter(([status]) => Number(status) >= 300)
        .map(([status, response]) => ({ at: `${label(op)} ${status}`, content: response.content })),
    );
    expect(errors.length).toBeGreaterThan(300);
    const expected = { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } };
    expect(errors.filter((error) => JSON.stringify(error.content) !== JSON.stringify(expected))).toEqual([]);
    expect(document.components.schemas.Problem).toMatchObject({ required: ['type', 'title', 'status'], additionalProperties: true });
  });

  it('name the problem codes behind each status', () => {
    expect(operation('GET', '/v1/usage').responses['400']!.description).toBe('Bad Request: `tenant-required`, `validation-failed`');
    expect(operation('PATCH', '/v1/tenant/settings').responses['403']!.description).toContain('`feature-not-in-plan`');
    expect(operation('POST', '/v1/projects').responses['415']!.description).toContain('`unsupported-media-type`');
  });

  it('declare 401 with the bearer challenge on every operation that takes a credential', () => {
    const guarded = operations.filter((op) => op.security?.some((alternative) => 'bearer' in alternative) && !op.security.some((a) => Object.keys(a).length === 0));
    expect(guarded.length).toBeGreaterThan(40);
    const missing = guarded.filter((op) => !op.responses['401']?.headers?.['WWW-Authenticate']).map(label);
    expect(missing).toEqual([]);
    expect(operation('GET', '/v1/members').responses['401']!.description).toContain('`token-expired`');
  });

  it('declare 503 database-unavailable and overloaded with Retry-After everywhere but liveness', () => {
    const missing = operations
      .filter((op) => op.path !== '/healthz')
      .filter((op) => !op.responses['503']?.headers?.['Retry-After'] || !/`database-unavailable`, `overloaded`/.test(op.responses['503'].description))
      .map(label);
    expect(missing).toEqual([]);
    expect(operation('GET', '/healthz').responses['503']).toBeUndefined();
  });
});

describe('rate limits', () => {
  it('are declared (429 rate-limited or user-rate-limited, with Retry-After) on every operation that answers with rate-limit headers', async () => {
    const limited: string[] = [];
    const undeclared: string[] = [];
    // Logout would end the session the other requests use; it is public, so never rate-limited.
    for (const op of operations.filter((candidate) => candidate.path !== '/v1/auth/logout')) {
      const url = op.path.replace(/\{\w+\}/g, op.path.includes('/flags/') ? 'some_flag' : SOME_ID);
      const token = op.path.startsWith('/v1/admin/') ? ADMIN_TOKEN : tenant.accessToken;
      const response = await testApp.app.inject({ method: op.method as 'GET', url, headers: bearer(token) });
      if (response.headers['ratelimit-limit'] === undefined) continue;
      limited.push(label(op));
      const declared = op.responses['429'];
      if (!declared?.headers?.['Retry-After'] || !/`(user-)?rate-limited`/.test(declared.description)) undeclared.push(label(op));
    }
    expect(limited.length).toBeGreaterThanOrEqual(33);
    expect(undeclared).toEqual([]);
  });
});

describe('PUT /v1/admin/flags/{key}', () => {
  it('requires kind, and per kind what the server requires: rolloutPercentage for a rollout, defaultValue otherwise', () => {
    const body = operation('PUT', '/v1/admin/flags/{key}').requestBody!.content['application/json']!.schema;
    expect(body.required).toEqual(['kind']);
    expect(body.allOf).toEqual([
      {
        // The document spells a constant as a one-value enum.
        if: { properties: { kind: { enum: ['rollout'] } } },
        then: { required: ['rolloutPercentage'], properties: { defaultValue: { enum: [false] } } },
        else: { required: ['defaultValue'] },
      },
    ]);
  });
});

describe('the admin API', () => {
  it('answers every PUT with 200 and the resource, and every DELETE with 204 and no body', () => {
    const admin = operations.filter((op) => op.path.startsWith('/v1/admin/'));
    const puts = admin.filter((op) => op.method === 'PUT');
    const deletes = admin.filter((op) => op.method === 'DELETE');
    expect(puts.length + deletes.length).toBeGreaterThanOrEqual(5);
    expect(puts.filter((op) => !op.responses['200']?.content?.['application/json'] || op.responses['204']).map(label)).toEqual([]);
    expect(deletes.filter((op) => op.responses['204']?.content !== undefined || !op.responses['204'] || op.responses['200']).map(label)).toEqual([]);
  });
});

describe('settings', () => {
  function nonNull(schema: JsonSchema | undefined): JsonSchema | undefined {
    return schema?.anyOf ? schema.anyOf.find((branch) => branch.type !== 'null') : schema;
  }

  it('PATCH takes the nested shape GET returns, and states the colour, https, time-zone and locale rules', () => {
    const body = operation('PATCH', '/v1/tenant/settings').requestBody!.content['application/json']!.schema;
    const view = operation('GET', '/v1/tenant/settings').responses['200']!.content!['application/json']!.schema;
    expect(Object.keys(body.properties!).sort()).toEqual(Object.keys(view.properties!).filter((key) => key !== 'sources').sort());
    expect(Object.keys(body.properties!.branding!.properties!).sort()).toEqual(Object.keys(view.properties!.branding!.properties!).sort());
    for (const schema of [body, view]) {
      const branding = schema.properties!.branding!.properties!;
      for (const color of ['primaryColor', 'accentColor']) expect(nonNull(branding[color])!.pattern).toBe(HEX_COLOR_PATTERN);
      for (const url of [branding.logoUrl, schema.properties!.supportUrl]) {
        expect(nonNull(url)).toMatchObject({ type: 'string', format: 'uri', pattern: expect.stringMatching(/^\^https:\/\//) });
      }
      expect(nonNull(schema.properties!.timeZone)!.pattern).toMatch(/^\^\[A-Za-z\]/);
      expect(nonNull(schema.properties!.timeZone)!.description).toContain('IANA');
      expect(nonNull(schema.properties!.locale)!.description).toContain('BCP 47');
    }
  });
});
