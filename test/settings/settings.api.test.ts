// /v1/tenant/settings and /v1/tenant/branding: validation (hex colors, https URLs, IANA time
// zones, BCP 47 locales, webhooks that resolve to public addresses only), resolution
// default -> plan -> tenant, audit rows, and a public branding answer that holds only branding.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isInternalAddress } from '../../src/settings/public-address.js';
import { addExistingMember, bearer, expectProblem, login, signUp } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let testApp: TestApp;

beforeAll(async () => {
  testApp = await startTestApp({ TENANTRY_BASE_DOMAIN: 'tenantry.test' });
});

afterAll(async () => {
  await testApp.close();
});

function patch(token: string, payload: unknown) {
  return testApp.app.inject({ method: 'PATCH', url: '/v1/tenant/settings', headers: bearer(token), payload: payload as object });
}

function read(token: string) {
  return testApp.app.inject({ method: 'GET', url: '/v1/tenant/settings', headers: bearer(token) });
}

describe('GET /v1/tenant/settings', () => {
  it('resolves every setting from the global default, then the plan, then the tenant', async () => {
    const tenant = await signUp(testApp.app);
    const initial = (await read(tenant.accessToken)).json();
    expect(initial).toMatchObject({ timeZone: 'UTC', locale: 'en-US', supportUrl: 'https://tenantry.dev/support', webhookUrl: null });
    expect(initial.sources).toMatchObject({ timeZone: 'default', supportUrl: 'default' });

    await testApp.app.inject({ method: 'PATCH', url: '/v1/tenant/plan', headers: bearer(tenant.accessToken), payload: { plan: 'pro' } });
    const onPro = (await read(tenant.accessToken)).json();
    expect(onPro).toMatchObject({ supportUrl: 'https://tenantry.dev/support/priority', sources: { supportUrl: 'plan' } });

    expect((await patch(tenant.accessToken, { supportUrl: 'https://help.acme.test/' })).statusCode).toBe(200);
    expect((await read(tenant.accessToken)).json()).toMatchObject({ supportUrl: 'https://help.acme.test/', sources: { supportUrl: 'tenant' } });

    const cleared = await patch(tenant.accessToken, { supportUrl: null });
    expect(cleared.json()).toMatchObject({ supportUrl: 'https://tenantry.dev/support/priority', sources: { supportUrl: 'plan' } });
  });

  it('returns 403 to a member (admins only)', async () => {
    const tenant = await signUp(testApp.app);
    const person = await signUp(testApp.app);
    await addExistingMember(testApp.app, tenant.accessToken, person, 'member');
    const token = (await login(testApp.app, person.email, person.password, tenant.slug)).json().accessToken;
    expectProblem(await read(token), 403, 'forbidden');
    expectProblem(await patch(token, { timeZone: 'Europe/Paris' }), 403, 'forbidden');
  });
});

describe('PATCH /v1/tenant/settings', () => {
  it('stores valid values in canonical form and writes one audit row with before and after', async () => {
    const tenant = await signUp(testApp.app);
    const response = await patch(tenant.accessToken, {
      timeZone: 'Europe/Paris',
      locale: 'EN-gb',
      primaryColor: '#ABC',
      accentColor: '#00ff88',
      logoUrl: 'https://cdn.acme.test/logo.png',
      webhookUrl: 'https://93.184.216.34/hooks/tenantry',
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      timeZone: 'Europe/Paris',
      locale: 'en-GB',
      webhookUrl: 'https://93.184.216.34/hooks/tenantry',
      branding: { logoUrl: 'https://cdn.acme.test/logo.png', primaryColor: '#abc', accentColor: '#00ff88' },
    });
    const { rows } = await testApp.database.admin.query('SELECT action, before, after FROM audit_log WHERE tenant_id = $1', [tenant.tenantId]);
    expect(rows).toEqual([
      {
        action: 'settings.changed',
        before: { timeZone: null, locale: null, primaryColor: null, accentColor: null, logoUrl: null, webhookUrl: null },
        after: {
          timeZone: 'Europe/Paris',
          locale: 'en-GB',
          primaryColor: '#abc',
          accentColor: '#00ff88',
          logoUrl: 'https://cdn.acme.test/logo.png',
          webhookUrl: 'https://93.184.216.34/hooks/tenantry',
        },
      },
    ]);
  });

  const invalid: [string, Record<string, unknown>][] = [
    ['a color that is not hex', { primaryColor: 'red' }],
    ['a four-digit hex color', { accentColor: '#abcd' }],
    ['an http logo URL', { logoUrl: 'http://cdn.acme.test/logo.png' }],
    ['a malformed URL', { supportUrl: 'https://' }],
    ['a URL with credentials', { logoUrl: 'https://user:pw@cdn.acme.test/logo.png' }],
    ['an unknown time zone', { timeZone: 'Mars/Olympus_Mons' }],
    ['a locale that is not BCP 47', { locale: 'en_US!' }],
    ['an unknown setting', { favouriteColor: '#fff' }],
    ['a number', { timeZone: 3 }],
  ];
  for (const [what, payload] of invalid) {
    it(`returns 400 for ${what}, and changes nothing`, async () => {
      const tenant = await signUp(testApp.app);
      expectProblem(await patch(tenant.accessToken, payload), 400, 'validation-failed');
      const { rows } = await testApp.database.admin.query('SELECT settings, branding FROM tenants WHERE id = $1', [tenant.tenantId]);
      expect(rows[0]).toEqual({ settings: {}, branding: {} });
    });
  }

  const internal = [
    'https://127.0.0.1/hook',
    'https://localhost/hook',
    'https://10.1.2.3/hook',
    'https://172.20.0.1/hook',
    'https://192.168.1.10/hook',
    'https://100.64.0.1/hook',
    'https://169.254.169.254/latest/meta-data',
    'https://[fd00:ec2::254]/hook',
    'https://[::1]/hook',
    'https://[fe80::1]/hook',
    'https://224.0.0.1/hook',
    'https://[::ffff:127.0.0.1]/hook',
    'https://[::127.0.0.1]/hook',
    'https://[::ffff:0:7f00:1]/hook',
    'https://[2002:7f00:1::]/hook',
    'https://[2002:a9fe:a9fe::]/latest/meta-data',
    'https://[64:ff9b::a9fe:a9fe]/latest/meta-data',
    'https://0.0.0.0/hook',
    'https://2130706433/hook', // 127.0.0.1 as one decimal number: the URL parser normalizes it
  ];
  for (const url of internal) {
    it(`refuses the webhook URL ${url}, which resolves to an internal address`, async () => {
      const tenant = await signUp(testApp.app);
      const body = expectProblem(await patch(tenant.accessToken, { webhookUrl: url }), 400, 'validation-failed');
      expect(JSON.stringify(body.errors)).toContain('body.webhookUrl');
    });
  }

  it('judges IPv4 carried in IPv6 as IPv4', () => {
    expect(isInternalAddress('::ffff:a9fe:a9fe')).toBe(true); // 169.254.169.254
    expect(isInternalAddress('64:ff9b::7f00:1')).toBe(true); // NAT64 of 127.0.0.1
    expect(isInternalAddress('::ffff:93.184.216.34')).toBe(false);
    expect(isInternalAddress('2606:2800:220:1:248:1893:25c8:1946')).toBe(false);
  });
});

describe('GET /v1/tenant/branding', () => {
  it('answers publicly by subdomain or X-Tenant-ID slug with the branding only', async () => {
    const tenant = await signUp(testApp.app, { subdomain: `brand${Date.now().toString(36)}` });
    await patch(tenant.accessToken, { primaryColor: '#112233', logoUrl: 'https://cdn.acme.test/l.png', webhookUrl: 'https://93.184.216.34/h' });
    const { rows } = await testApp.database.admin.query('SELECT subdomain, name FROM tenants WHERE id = $1', [tenant.tenantId]);
    const expected = { name: rows[0].name, logoUrl: 'https://cdn.acme.test/l.png', primaryColor: '#112233', accentColor: '#f59e0b' };

    const bySubdomain = await testApp.app.inject({ method: 'GET', url: '/v1/tenant/branding', headers: { host: `${rows[0].subdomain}.tenantry.test` } });
    expect(bySubdomain.statusCode).toBe(200);
    expect(bySubdomain.json()).toEqual(expected);
    const bySlug = await testApp.app.inject({ method: 'GET', url: '/v1/tenant/branding', headers: { 'x-tenant-id': tenant.slug } });
    expect(bySlug.json()).toEqual(expected);
  });

  it('answers 404 for an unknown tenant and 400 when none is named', async () => {
    expectProblem(await testApp.app.inject({ method: 'GET', url: '/v1/tenant/branding', headers: { 'x-tenant-id': 'no-such-tenant' } }), 404, 'tenant-not-found');
    expectProblem(await testApp.app.inject({ method: 'GET', url: '/v1/tenant/branding' }), 400, 'tenant-required');
  });
});
