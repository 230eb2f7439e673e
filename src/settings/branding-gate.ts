// Custom branding (logo and colors) is the plan feature `custom_branding`: a tenant without
// it can neither set branding nor have stored branding shown. Values stored on a plan that
// had it are kept, unseen, for when the plan includes it again; clearing one is always allowed.

import type { TenantProfile } from '../cache/tenant-profiles.js';
import { evaluateFlag } from '../flags/evaluate-flag.js';
import type { PlatformSnapshot } from '../plans/platform-catalog.js';
import { BRANDING_KEYS, type SettingKey } from './setting-definitions.js';

export const BRANDING_FEATURE = 'custom_branding';

/** Whether a settings patch sets (not merely clears) a branding value. */
export function setsBranding(patch: { readonly [K in SettingKey]?: string | null }): boolean {
  return BRANDING_KEYS.some((key) => typeof patch[key] === 'string');
}

/** Whether the tenant's plan, or an override of it, turns custom branding on: from cached data, no I/O. */
export function brandingIncluded(snapshot: PlatformSnapshot, profile: Pick<TenantProfile, 'tenantId' | 'plan' | 'overrides'>): boolean {
  const flag = snapshot.flagByKey.get(BRANDING_FEATURE);
  if (!flag) return false;
  const context = { tenantId: profile.tenantId, plan: profile.plan };
  return evaluateFlag(flag, snapshot.planDefaults.get(profile.plan), profile.overrides, context).value === true;
}
