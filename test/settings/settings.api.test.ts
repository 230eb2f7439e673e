// /v1/tenant/settings and /v1/tenant/branding: validation (hex colors, https URLs, IANA time
// zones, BCP 47 locales, webhooks that resolve to public addresses only), resolution
// default -> plan -> tenant, audit rows, a public branding answer that holds only branding,
// and branding (logo, colors) only on a plan with the custom_branding feature.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isInternalAddress } from '../../src/settings/public-address.js';
import { addExistingMember, bearer, expectProblem, login, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let testApp: TestApp;
const ADMIN_TOKEN = 'platform-admin-token-for-settings-tests-0123456789';

beforeAll(async () => {
  testApp = await startTestApp({ TENANTRY_BASE_DOMAIN: 'tenantry.test', TENANTRY_PLATFORM_ADMIN_TOKEN: ADMIN_TOKEN });
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

function changePlan(tenant: SignedUpTenant, plan: string) {
  return testApp.app.inject({ method: 'PATCH', url: '/v1/tenant/plan', headers: bearer(tenant.accessToken), payload: { plan } });
}

/** A tenant on pro, whose plan includes custom branding. */
async function proTenant(overrides: { subdomain?: string } = {}): Promise<SignedUpTenant> {
  const tenant = await signUp(testApp.app, overrides);
  expect((await changePlan(tenant, 'pro')).statusCode).toBe(200);
  return tenant;
}

async function stored(tenant: SignedUpTenant): Promise<{ settings: unknown; branding: unknown }> {
  const { rows } = await testApp.database.admin.query('SELECT settings, branding FROM tenants WHERE id = $1', [tenant.tenantId]);
  return rows[0];
}

async function settingsAudit(tenant: SignedUpTenant): Promise<Array<{ before: unknown; after: unknown }>> {
  const { rows } = await testApp.database.admin.query(
    "SELECT before, after FROM audit_log WHERE tenant_id = $1 AND action = 'settings.changed' ORDER BY created_at",
    [tenant.tenantId],
  );
  return rows;
}

describe('GET /v1/tenant/settings', () => {
  it('resolves every setting from the global default, then the plan, then the tenant', async () => {
    const tenant = await signUp(testApp.app);
    const initial = (await read(tenant.accessToken)).json();
    expect(initial).toMatchObject({ timeZone: 'UTC', locale: 'en-US', supportUrl: 'https://tenantry.dev/support' });
    expect(initial).not.toHaveProperty('webhookUrl');
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
    const tenant = await proTenant();
    const response = await patch(tenant.accessToken, {
      timeZone: 'Europe/Paris',
      locale: 'EN-gb',
      branding: { primaryColor: '#ABC', accentColor: '#00ff88', logoUrl: 'https://cdn.acme.test/logo.png' },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      timeZone: 'Europe/Paris',
      locale: 'en-GB',
      branding: { logoUrl: 'https://cdn.acme.test/logo.png', primaryColor: '#abc', accentColor: '#00ff88' },
    });
    expect(await settingsAudit(tenant)).toEqual([
      {
        before: { timeZone: null, locale: null, primaryColor: null, accentColor: null, logoUrl: null },
        after: {
          timeZone: 'Europe/Paris',
          locale: 'en-GB',
          primaryColor: '#abc',
          accentColor: '#00ff88',
          logoUrl: 'https://cdn.acme.test/logo.png',
        },
      },
    ]);
  });

  const invalid: [string, Record<string, unknown>][] = [
    ['a color that is not hex', { branding: { primaryColor: 'red' } }],
    ['a four-digit hex color', { branding: { accentColor: '#abcd' } }],
    ['an http logo URL', { branding: { logoUrl: 'http://cdn.acme.test/logo.png' } }],
    ['a malformed URL', { supportUrl: 'https://' }],
    ['a URL with credentials', { branding: { logoUrl: 'https://user:pw@cdn.acme.test/logo.png' } }],
    ['a branding field at the top level (branding is nested, as GET shows it)', { primaryColor: '#112233' }],
    ['an empty branding object', { branding: {} }],
    ['the read-only sources', { sources: { timeZone: 'tenant' } }],
    ['an unknown time zone', { timeZone: 'Mars/Olympus_Mons' }],
    ['a locale that is not BCP 47', { locale: 'en_US!' }],
    ['an unknown setting', { favouriteColor: '#fff' }],
    ['a number', { timeZone: 3 }],
  ];
  for (const [what, payload] of invalid) {
    it(`returns 400 for ${what}, and changes nothing`, async () => {
      const tenant = await proTenant();
      expectProblem(await patch(tenant.accessToken, payload), 400, 'validation-failed');
      expect(await stored(tenant)).toEqual({ settings: {}, branding: {} });
    });
  }

  it('refuses webhookUrl, which is no setting any more (webhook endpoints replace it), and changes nothing', async () => {
    const tenant = await proTenant();
    const body = expectProblem(await patch(tenant.accessToken, { webhookUrl: 'https://93.184.216.34/hooks/tenantry' }), 400, 'validation-failed');
    expect(JSON.stringify(body)).toContain('webhookUrl');
    expect(await stored(tenant)).toEqual({ settings: {}, branding: {} });
  });

  it('judges IPv4 carried in IPv6 as IPv4', () => {
    expect(isInternalAddress('::ffff:a9fe:a9fe')).toBe(true); // 169.254.169.254
    expect(isInternalAddress('64:ff9b::7f00:1')).toBe(true); // NAT64 of 127.0.0.1
    expect(isInternalAddress('::ffff:93.184.216.34')).toBe(false);
    expect(isInternalAddress('2606:2800:220:1:248:1893:25c8:1946')).toBe(false);
  });
});

describe('settings round-trip', () => {
  it('accepts back, as a PATCH, the settings GET returned (less the read-only sources), and nothing moves', async () => {
    const tenant = await proTenant();
    const changed = await patch(tenant.accessToken, { timeZone: 'Asia/Tokyo', branding: { primaryColor: '#123456' } });
    expect(changed.statusCode).toBe(200);
    const { sources, ...shown } = (await read(tenant.accessToken)).json();
    const again = await patch(tenant.accessToken, shown);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject(shown);
    expect(sources).toMatchObject({ timeZone: 'tenant', primaryColor: 'tenant' });
  });

  it('answers a colour that is not hex with the rule, naming the nested field', async () => {
    const tenant = await proTenant();
    expect(expectProblem(await patch(tenant.accessToken, { branding: { accentColor: 'teal' } }), 400, 'validation-failed').errors).toEqual([
      { field: 'body.branding.accentColor', message: 'must be a hex color, #rgb or #rrggbb' },
    ]);
  });
});

describe('GET /v1/tenant/branding', () => {
  it('answers publicly by subdomain or X-Tenant-ID slug with the branding only', async () => {
    const tenant = await proTenant({ subdomain: `brand${Date.now().toString(36)}` });
    await patch(tenant.accessToken, { branding: { primaryColor: '#112233', logoUrl: 'https://cdn.acme.test/l.png' } });
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

describe('branding is a plan feature (custom_branding)', () => {
  const branding = { logoUrl: 'https://cdn.acme.test/logo.png', primaryColor: '#112233' };

  it('refuses a free tenant that sets a logo or a color with 403 naming the feature and the plan to upgrade to, and changes nothing', async () => {
    const tenant = await signUp(testApp.app);
    const payloads = [{ logoUrl: branding.logoUrl }, { primaryColor: '#112233' }, { accentColor: '#445566' }].map((one) => ({ branding: one }));
    for (const payload of [...payloads, { branding, timeZone: 'Europe/Paris' }]) {
      const body = expectProblem(await patch(tenant.accessToken, payload), 403, 'feature-not-in-plan');
      expect(body).toMatchObject({ feature: 'custom_branding', required_plan: 'pro' });
    }
    // Not even the time zone sent beside the colors: the request is refused whole.
    expect(await stored(tenant)).toEqual({ settings: {}, branding: {} });
    expect(await settingsAudit(tenant)).toEqual([]);
    expect((await read(tenant.accessToken)).json()).toMatchObject({
      timeZone: 'UTC',
      branding: { logoUrl: null, primaryColor: '#4f46e5', accentColor: '#f59e0b' },
    });
  });

  it('still lets a free tenant change its other settings', async () => {
    const tenant = await signUp(testApp.app);
    expect((await patch(tenant.accessToken, { timeZone: 'Europe/Paris' })).json()).toMatchObject({ timeZone: 'Europe/Paris' });
  });

  it('lets a pro tenant set its branding, shown in its settings and on its public branding', async () => {
    const tenant = await proTenant();
    const response = await patch(tenant.accessToken, { branding });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      branding: { logoUrl: branding.logoUrl, primaryColor: '#112233' },
      sources: { logoUrl: 'tenant', primaryColor: 'tenant' },
    });
    const shown = await testApp.app.inject({ method: 'GET', url: '/v1/tenant/branding', headers: { 'x-tenant-id': tenant.slug } });
    expect(shown.json()).toMatchObject({ logoUrl: branding.logoUrl, primaryColor: '#112233' });
  });

  it('stops showing branding after a downgrade, keeps it stored, and shows it again after an upgrade', async () => {
    const tenant = await proTenant();
    expect((await patch(tenant.accessToken, { branding })).statusCode).toBe(200);
    const publicBranding = async () =>
      (await testApp.app.inject({ method: 'GET', url: '/v1/tenant/branding', headers: { 'x-tenant-id': tenant.slug } })).json();

    expect((await changePlan(tenant, 'free')).statusCode).toBe(200);
    expect(await publicBranding()).toMatchObject({ logoUrl: null, primaryColor: '#4f46e5' });
    expect((await read(tenant.accessToken)).json()).toMatchObject({
      branding: { logoUrl: null, primaryColor: '#4f46e5' },
      sources: { logoUrl: 'default', primaryColor: 'default' },
    });
    expect((await stored(tenant)).branding).toEqual(branding);

    expect((await changePlan(tenant, 'pro')).statusCode).toBe(200);
    expect(await publicBranding()).toMatchObject({ logoUrl: branding.logoUrl, primaryColor: '#112233' });
  });

  it('lets a tenant without the feature clear stored branding', async () => {
    const tenant = await proTenant();
    expect((await patch(tenant.accessToken, { branding })).statusCode).toBe(200);
    expect((await changePlan(tenant, 'free')).statusCode).toBe(200);
    expect((await patch(tenant.accessToken, { branding: { logoUrl: null, primaryColor: null } })).statusCode).toBe(200);
    expect((await stored(tenant)).branding).toEqual({});
  });

  it('follows a tenant override of the feature set by the platform operator', async () => {
    const tenant = await signUp(testApp.app);
    const override = await testApp.app.inject({
      method: 'PUT',
      url: `/v1/admin/flags/custom_branding/tenants/${tenant.tenantId}`,
      headers: bearer(ADMIN_TOKEN),
      payload: { value: true },
    });
    expect(override.statusCode).toBe(200);
    expect((await patch(tenant.accessToken, { branding: { primaryColor: '#112233' } })).json()).toMatchObject({ branding: { primaryColor: '#112233' } });
  });
});
