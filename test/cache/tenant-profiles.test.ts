// The profile cache serves a tenant only its own profile: an entry whose tenant id differs
// from the one asked for (a mixed-up load, a corrupted entry) is never served; it is dropped
// and loaded again, and a load that keeps answering for another tenant fails loudly.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseProfileLoader, TenantProfiles, type TenantProfileLoader } from '../../src/cache/tenant-profiles.js';
import { TenantScopeViolation } from '../../src/db/tenant-scope-plugin.js';
import { signUp, type SignedUpTenant } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let testApp: TestApp;
let mine: SignedUpTenant;
let theirs: SignedUpTenant;

beforeAll(async () => {
  testApp = await startTestApp();
  mine = await signUp(testApp.app);
  theirs = await signUp(testApp.app);
});

afterAll(async () => {
  await testApp.close();
});

/** The real loader, except that its first `mixUps` answers are another tenant's profile. */
function mixedUpLoader(mixUps: number): TenantProfileLoader & { calls: number } {
  const real = databaseProfileLoader(testApp.services.db);
  const loader = Object.assign(
    async (tenantId: string) => {
      loader.calls += 1;
      return real(loader.calls <= mixUps && tenantId === mine.tenantId ? theirs.tenantId : tenantId);
    },
    { calls: 0 },
  );
  return loader;
}

describe('the tenant profile cache', () => {
  it("reloads instead of serving an entry that carries another tenant's id", async () => {
    const loader = mixedUpLoader(1);
    const profiles = new TenantProfiles(loader, undefined, () => 30_000);
    const profile = await profiles.get(mine.tenantId);
    expect(profile?.tenantId).toBe(mine.tenantId);
    expect(profile?.name).toBe(`Tenant ${mine.slug}`);
    expect(loader.calls).toBe(2);
    expect(profiles.peek(mine.tenantId)?.tenantId).toBe(mine.tenantId);
  });

  it('fails, and keeps nothing, when the load keeps answering for another tenant', async () => {
    const profiles = new TenantProfiles(mixedUpLoader(Infinity), undefined, () => 30_000);
    await expect(profiles.get(mine.tenantId)).rejects.toThrow(TenantScopeViolation);
    expect(profiles.peek(mine.tenantId)).toBeUndefined();
    expect((await profiles.get(theirs.tenantId))?.tenantId).toBe(theirs.tenantId);
  });

  it('takes the tenant id of a loaded profile from the database row, not from the question', async () => {
    const profile = await databaseProfileLoader(testApp.services.db)(mine.tenantId);
    expect(profile).toMatchObject({ tenantId: mine.tenantId, plan: 'free' });
  });
});
