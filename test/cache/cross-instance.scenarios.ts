// The cross-instance scenarios both transports must pass: a change made through instance A
// reaches instance B long before B's 30 s cache TTL could explain it (PROPAGATION_DEADLINE_MS,
// polled), and a tenant deleted through A leaves B's profile cache as promptly.

import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { bearer, signUp } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { connected, eventually, startInstance, type Instance } from './second-instance.js';

const ADMIN_TOKEN = 'platform-admin-token-for-cache-tests-0123456789';

export function crossInstanceScenarios(env: () => Record<string, string>): void {
  async function twoInstances(): Promise<{ a: TestApp; b: Instance; close(): Promise<void> }> {
    const shared = { TENANTRY_PLATFORM_ADMIN_TOKEN: ADMIN_TOKEN, TENANTRY_CACHE_TTL_SECONDS: '30', ...env() };
    const a = await startTestApp(shared);
    const b = await startInstance(a.database, shared);
    await connected(a.services);
    await connected(b.services);
    // As each server does: a relay per instance delivers the outbox (Redis' invalidations).
    a.services.outbox.start();
    b.services.outbox.start();
    return {
      a,
      b,
      async close() {
        await Promise.all([a.services.outbox.stop(), b.services.outbox.stop()]);
        await b.close();
        await a.close();
      },
    };
  }

  async function flag(app: { inject: TestApp['app']['inject'] }, token: string, key: string) {
    const response = await app.inject({ method: 'GET', url: '/v1/flags', headers: bearer(token) });
    return response.json().data.find((entry: { key: string }) => entry.key === key);
  }

  it('shows a tenant override made through A on B before B\'s cache expires, and never to another tenant', async () => {
    const { a, b, close } = await twoInstances();
    try {
      const tenant = await signUp(a.app);
      const other = await signUp(a.app);
      expect(await flag(b.app, tenant.accessToken, 'dark_mode')).toMatchObject({ value: false });
      expect(await flag(b.app, other.accessToken, 'dark_mode')).toMatchObject({ value: false });
      await a.app.inject({ method: 'PUT', url: '/v1/flags/dark_mode', headers: bearer(tenant.accessToken), payload: { value: true } });
      await eventually(async () => (await flag(b.app, tenant.accessToken, 'dark_mode')).value === true);
      expect(await flag(b.app, other.accessToken, 'dark_mode')).toMatchObject({ value: false, source: 'default' });
    } finally {
      await close();
    }
  });

  it('shows a plan change made through A on B before B\'s cache expires (settings follow the plan)', async () => {
    const { a, b, close } = await twoInstances();
    try {
      const tenant = await signUp(a.app);
      const settings = () => b.app.inject({ method: 'GET', url: '/v1/tenant/settings', headers: bearer(tenant.accessToken) });
      expect((await settings()).json().sources.supportUrl).toBe('default');
      await a.app.inject({ method: 'PATCH', url: '/v1/tenant/plan', headers: bearer(tenant.accessToken), payload: { plan: 'enterprise' } });
      await eventually(async () => (await settings()).json().supportUrl === 'https://tenantry.dev/support/enterprise');
      expect(await flag(b.app, tenant.accessToken, 'audit_log')).toMatchObject({ value: true, source: 'plan' });
    } finally {
      await close();
    }
  });

  it("shows a plan's price and limits the operator changes through A on B before B's cache expires", async () => {
    const { a, b, close } = await twoInstances();
    try {
      const proOnB = async () => (await b.app.inject({ method: 'GET', url: '/v1/plans' })).json().data.find((plan: { key: string }) => plan.key === 'pro');
      const before = await proOnB();
      const changed = await a.app.inject({
        method: 'PATCH',
        url: '/v1/admin/plans/pro',
        headers: bearer(ADMIN_TOKEN),
        payload: { monthlyPriceCents: before.monthlyPriceCents + 100, limits: { ...before.limits, tasks: 51234 } },
      });
      expect(changed.statusCode).toBe(200);
      await eventually(async () => (await proOnB()).limits.tasks === 51234);
      expect((await proOnB()).monthlyPriceCents).toBe(before.monthlyPriceCents + 100);
      expect(await b.services.plans.limitFor('pro', 'tasks')).toBe(51234);
    } finally {
      await close();
    }
  });

  it("drops a tenant deleted through A from B's profile cache before it expires", async () => {
    const { a, b, close } = await twoInstances();
    try {
      const tenant = await signUp(a.app);
      const bystander = await signUp(a.app);
      for (const someone of [tenant, bystander]) expect(await flag(b.app, someone.accessToken, 'dark_mode')).toMatchObject({ value: false });
      expect(b.services.tenantProfiles.peek(tenant.tenantId)).toMatchObject({ tenantId: tenant.tenantId });

      const deleted = await a.app.inject({ method: 'DELETE', url: '/v1/tenant', headers: bearer(tenant.accessToken), payload: { confirm: tenant.slug } });
      expect(deleted.statusCode).toBe(200);
      await eventually(() => b.services.tenantProfiles.peek(tenant.tenantId) === undefined);
      expect(await b.services.tenantProfiles.get(tenant.tenantId)).toBeNull();
      expect(b.services.tenantProfiles.peek(bystander.tenantId)).toMatchObject({ tenantId: bystander.tenantId });
    } finally {
      await close();
    }
  });

  it('shows a flag the operator defines through A on B before B\'s cache expires', async () => {
    const { a, b, close } = await twoInstances();
    try {
      const tenant = await signUp(a.app);
      const key = `f_${randomUUID().slice(0, 8)}`;
      expect(await flag(b.app, tenant.accessToken, key)).toBeUndefined();
      const defined = await a.app.inject({ method: 'PUT', url: `/v1/admin/flags/${key}`, headers: bearer(ADMIN_TOKEN), payload: { kind: 'boolean', defaultValue: true } });
      expect(defined.statusCode).toBe(200);
      await eventually(async () => (await flag(b.app, tenant.accessToken, key))?.value === true);
      // B's plan catalog follows too.
      expect((await b.services.plans.limitFor('free', 'tasks'))).toBe(1000);
    } finally {
      await close();
    }
  });
}
