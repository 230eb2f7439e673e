// Evaluates flags for the tenant of the request context from the cached platform snapshot
// and tenant profile: no I/O once warm. Also answers plan gates (which plan has a feature).

import type { TenantProfiles } from '../cache/tenant-profiles.js';
import type { PlatformCatalog, PlatformSnapshot } from '../plans/platform-catalog.js';
import { currentContext, MissingTenantContextError } from '../tenancy/context.js';
import { evaluateFlag, type FlagContext, type FlagEvaluation } from './evaluate-flag.js';
import { UnknownFlagError } from './flag.js';

export class Flags {
  readonly #catalog: PlatformCatalog;
  readonly #profiles: TenantProfiles;

  constructor(catalog: PlatformCatalog, profiles: TenantProfiles) {
    this.#catalog = catalog;
    this.#profiles = profiles;
  }

  /**
   * One flag for the current request's tenant (or an explicit server-side context).
   *
   * @example
   *   const { value } = await flags.evaluate('new_dashboard');
   */
  async evaluate(key: string, context?: FlagContext): Promise<FlagEvaluation> {
    const snapshot = this.#catalog.peek() ?? (await this.#catalog.snapshot());
    const flag = snapshot.flagByKey.get(key);
    if (!flag) throw new UnknownFlagError(key);
    const [resolved, overrides] = await this.#resolve(context);
    return evaluateFlag(flag, snapshot.planDefaults.get(resolved.plan), overrides, resolved);
  }

  /** Every flag, in key order, with the level each value came from. */
  async evaluateAll(context?: FlagContext): Promise<FlagEvaluation[]> {
    const snapshot = await this.#catalog.snapshot();
    const [resolved, overrides] = await this.#resolve(context);
    const planDefaults = snapshot.planDefaults.get(resolved.plan);
    return snapshot.flags.map((flag) => evaluateFlag(flag, planDefaults, overrides, resolved));
  }

  async isEnabled(key: string, context?: FlagContext): Promise<boolean> {
    return (await this.evaluate(key, context)).value === true;
  }

  /** The cheapest plan on which the boolean flag is on without a tenant override. */
  async cheapestPlanWith(key: string): Promise<string | null> {
    const snapshot = await this.#catalog.snapshot();
    return cheapestPlanWith(snapshot, key);
  }

  /** Tenant, plan and user from the request context, never from the caller's input. */
  async #resolve(context: FlagContext | undefined): Promise<[FlagContext, ReadonlyMap<string, unknown> | undefined]> {
    if (context) {
      const profile = this.#profiles.peek(context.tenantId) ?? (await this.#profiles.get(context.tenantId));
      return [context, profile?.overrides];
    }
    const request = currentContext();
    if (!request?.tenantId) throw new MissingTenantContextError();
    const profile = this.#profiles.peek(request.tenantId) ?? (await this.#profiles.get(request.tenantId));
    if (!profile) throw new MissingTenantContextError();
    // The plan resolved for this request is the freshest; the profile's is at most one TTL old.
    const resolved: FlagContext = { tenantId: request.tenantId, plan: request.plan ?? profile.plan, userId: request.userId, role: request.role };
    return [resolved, profile.overrides];
  }
}

export function cheapestPlanWith(snapshot: PlatformSnapshot, key: string): string | null {
  const flag = snapshot.flagByKey.get(key);
  if (!flag) return null;
  for (const plan of snapshot.plans) {
    const value = snapshot.planDefaults.get(plan.key)?.get(key) ?? (flag.kind === 'boolean' ? flag.defaultValue : undefined);
    if (value === true) return plan.key;
  }
  return null;
}

/** The boolean flags a plan turns on (its features), for the plan list. */
export function planFeatures(snapshot: PlatformSnapshot, planKey: string): string[] {
  const defaults = snapshot.planDefaults.get(planKey);
  return snapshot.flags
    .filter((flag) => flag.kind === 'boolean' && (defaults?.get(flag.key) ?? flag.defaultValue) === true)
    .map((flag) => flag.key);
}
