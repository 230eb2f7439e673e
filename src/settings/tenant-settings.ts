// A tenant's settings resolved like flags: global default, then the plan's, then the
// tenant's own (most specific wins), with the level each value came from. Reads come from
// the caches; changes are validated, audited and evicted on every instance.

import { recordAudit } from '../audit/record-audit.js';
import type { CacheInvalidation } from '../cache/cache-invalidation.js';
import type { TenantProfile, TenantProfiles } from '../cache/tenant-profiles.js';
import type { Clock } from '../clock.js';
import type { Database } from '../db/database.js';
import { AppError } from '../http/problems.js';
import type { PlatformCatalog } from '../plans/platform-catalog.js';
import type { Actor } from '../tenancy/actor.js';
import { brandingIncluded } from './branding-gate.js';
import {
  BRANDING_KEYS,
  DEFAULT_SETTINGS,
  normalizeSetting,
  SETTING_KEYS,
  type SettingKey,
  type SettingValues,
} from './setting-definitions.js';

export type SettingSource = 'default' | 'plan' | 'tenant';

export interface ResolvedSettings {
  readonly values: SettingValues;
  readonly sources: { readonly [K in SettingKey]: SettingSource };
}

const BRANDING: ReadonlySet<string> = new Set(BRANDING_KEYS);

function tenantValue(profile: Pick<TenantProfile, 'settings' | 'branding'>, key: SettingKey): unknown {
  return BRANDING.has(key) ? profile.branding[key] : profile.settings[key];
}

export function resolveSettings(profile: Pick<TenantProfile, 'settings' | 'branding'>, planSettings: Readonly<Record<string, unknown>>): ResolvedSettings {
  const values: Record<string, string | null> = {};
  const sources: Record<string, SettingSource> = {};
  for (const key of SETTING_KEYS) {
    const own = tenantValue(profile, key);
    const plan = planSettings[key];
    if (typeof own === 'string') [values[key], sources[key]] = [own, 'tenant'];
    else if (typeof plan === 'string') [values[key], sources[key]] = [plan, 'plan'];
    else [values[key], sources[key]] = [DEFAULT_SETTINGS[key], 'default'];
  }
  return { values: values as SettingValues, sources: sources as ResolvedSettings['sources'] };
}

export type SettingsPatch = { readonly [K in SettingKey]?: string | null };

export class TenantSettings {
  constructor(
    private readonly db: Database,
    private readonly catalog: PlatformCatalog,
    private readonly profiles: TenantProfiles,
    private readonly invalidation: CacheInvalidation,
    private readonly clock: Clock,
  ) {}

  /**
   * The resolved settings of a tenant; undefined when it does not exist. The tenant's own
   * branding counts only while its plan includes custom branding.
   */
  async resolve(tenantId: string): Promise<(ResolvedSettings & { name: string }) | undefined> {
    const profile = await this.profiles.get(tenantId);
    if (!profile) return undefined;
    const snapshot = await this.catalog.snapshot();
    const own = brandingIncluded(snapshot, profile) ? profile : { settings: profile.settings, branding: {} };
    return { ...resolveSettings(own, snapshot.planByKey.get(profile.plan)?.settings ?? {}), name: profile.name };
  }

  /** Sets (string) or clears (null) the tenant's own values; the rest are kept. */
  async update(actor: Actor, patch: SettingsPatch): Promise<void> {
    const normalized: Record<string, string | null> = {};
    const errors: { field: string; message: string }[] = [];
    for (const [key, value] of Object.entries(patch) as [SettingKey, string | null | undefined][]) {
      if (value === undefined) continue;
      if (value === null) {
        normalized[key] = null;
        continue;
      }
      try {
        normalized[key] = await normalizeSetting(key, value);
      } catch (error) {
        errors.push({ field: `body.${key}`, message: (error as Error).message });
      }
    }
    if (errors.length > 0) {
      throw new AppError('validation-failed', errors.map((error) => `${error.field} ${error.message}`).join('; '), { errors });
    }
    const { tenantId } = actor;
    const now = this.clock.now();
    await this.db.tenant(async (tx) => {
      const row = await tx
        .selectFrom('tenants')
        .select(['settings', 'branding'])
        .where('id', '=', tenantId)
        .where('deleted_at', 'is', null)
        .forUpdate()
        .executeTakeFirst();
      if (!row) throw new AppError('tenant-not-found');
      const settings: Record<string, unknown> = { ...row.settings };
      const branding: Record<string, unknown> = { ...row.branding };
      const before: Record<string, unknown> = {};
      const after: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(normalized)) {
        const target = BRANDING.has(key) ? branding : settings;
        const previous = target[key] ?? null;
        if (previous === value) continue;
        before[key] = previous;
        after[key] = value;
        if (value === null) delete target[key];
        else target[key] = value;
      }
      if (Object.keys(after).length === 0) return;
      await tx
        .updateTable('tenants')
        .set({ settings: JSON.stringify(settings), branding: JSON.stringify(branding), updated_at: now })
        .where('id', '=', tenantId)
        .execute();
      await recordAudit(tx, actor, { action: 'settings.changed', target: 'settings', before, after });
      await this.invalidation.record(tx, { scope: 'tenant', tenantId });
    });
  }
}
