// The OpenFeature provider, used through the standard API from a request handler: the
// tenant comes from the request context, attributes passed by the caller change nothing.

import { OpenFeature, ErrorCode } from '@openfeature/server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TenantryFlagProvider } from '../../src/index.js';
import { access } from '../../src/http/access.js';
import { runWithContext } from '../../src/tenancy/context.js';
import { bearer, signUp } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let testApp: TestApp;

beforeAll(async () => {
  testApp = await startTestApp(
    {},
    {
      extend(app, services) {
        app.get('/test/openfeature', { config: { access: access.tenant('viewer') } }, async () => {
          const client = OpenFeature.getClient();
          // A spoofing attempt: the caller names another tenant and plan; the provider ignores it.
          const spoofed = { targetingKey: '00000000-0000-7000-8000-000000000000', tenantId: 'x', plan: 'promax' };
          const recall = await client.getStringDetails('recall_strategy', 'none', spoofed);
          const auditLog = await client.getBooleanDetails('audit_log', false);
          const darkMode = await client.getBooleanDetails('dark_mode', true);
          const missing = await client.getBooleanDetails('no_such_flag', true);
          const mismatch = await client.getNumberDetails('dark_mode', 7);
          return { recall, auditLog, darkMode, missing, mismatch, tenantId: services.flags ? 'ok' : 'no' };
        });
      },
    },
  );
  await OpenFeature.setProviderAndWait(new TenantryFlagProvider(testApp.services.flags));
});

afterAll(async () => {
  await OpenFeature.close();
  await testApp.close();
});

describe('TenantryFlagProvider through the OpenFeature API', () => {
  it("evaluates the request's tenant, with the source level in the flag metadata", async () => {
    const tenant = await signUp(testApp.app);
    await testApp.app.inject({ method: 'PATCH', url: '/v1/tenant/plan', headers: bearer(tenant.accessToken), payload: { plan: 'pro' } });
    await testApp.app.inject({ method: 'PUT', url: '/v1/flags/dark_mode', headers: bearer(tenant.accessToken), payload: { value: true } });
    const body = (await testApp.app.inject({ method: 'GET', url: '/test/openfeature', headers: bearer(tenant.accessToken) })).json();
    // On promax recall_strategy would be hybrid: the spoofed plan was not used.
    expect(body.recall).toMatchObject({ value: 'fts', reason: 'DEFAULT', flagMetadata: { source: 'default' } });
    expect(body.auditLog).toMatchObject({ value: true, reason: 'TARGETING_MATCH', flagMetadata: { source: 'plan' } });
    expect(body.darkMode).toMatchObject({ value: true, reason: 'TARGETING_MATCH', flagMetadata: { source: 'tenant' } });
  });

  it('returns the default with FLAG_NOT_FOUND or TYPE_MISMATCH instead of throwing', async () => {
    const tenant = await signUp(testApp.app);
    const body = (await testApp.app.inject({ method: 'GET', url: '/test/openfeature', headers: bearer(tenant.accessToken) })).json();
    expect(body.missing).toMatchObject({ value: true, errorCode: ErrorCode.FLAG_NOT_FOUND, reason: 'ERROR' });
    expect(body.mismatch).toMatchObject({ value: 7, errorCode: ErrorCode.TYPE_MISMATCH });
  });

  it('refuses to evaluate outside a tenant context (INVALID_CONTEXT), whatever the caller passes', async () => {
    const client = OpenFeature.getClient();
    const details = await client.getBooleanDetails('audit_log', false, { targetingKey: 'someone', tenantId: 'x' });
    expect(details).toMatchObject({ value: false, errorCode: ErrorCode.INVALID_CONTEXT });
    const inRequestWithoutTenant = await runWithContext({ requestId: 'r1' }, () => client.getBooleanDetails('audit_log', false));
    expect(inRequestWithoutTenant.errorCode).toBe(ErrorCode.INVALID_CONTEXT);
  });
});
