// Evaluates flags for a tenant (an Actor, usually) from the cached platform snapshot and
// tenant profile: no I/O once warm. Also answers plan gates (which plan has a feature).

import type { TenantProfile, TenantProfiles } from '../cache/tenant-profiles.js';
import type { PlatformCatalog, PlatformSnapshot } from '../plans/platform-catalog.js';
import { AppError } from '../http/problems.js';
import { evaluateFlag, type FlagEvaluation } from './evaluate-flag.js';
import { UnknownFlagError } from './flag.js';

/**
 * Who flags are evaluated for. An Actor is one; a tenant named without a plan is evaluated
 * on its profile's plan (at most one cache TTL old), as work outside a request has no fresher.
 */
export interface FlagSubject {
  readonly tenantId: string;
  readonly plan?: string | undefined;
  readonly userId?: string | undefined;
  readonly role?: string | undefined;
}

export class Flags {
  readonly #catalog: PlatformCatalog;
  readonly #profiles: TenantProfiles;

  constructor(catalog: PlatformCatalog, profiles: TenantProfiles) {
    this.#catalog = catalog;
    this.#profiles = profiles;
  }

  /**
   * One flag for a tenant; throws 404 tenant-not-found for a tenant that does not exist.
   *
   * @example
   *   const { value } = await flags.evaluate('new_dashboard', actorOf(request));
   */
  async evaluate(key: string, subject: FlagSubject): Promise<FlagEvaluation> {
    // Plan gates run this on every request: warm, nothing below is awaited, so the answer
    // costs no async hop (an awaited helper cost a promise and a microtask per level).
    const snapshot = this.#catalog.peek() ?? (await this.#catalog.snapshot());
    const flag = snapshot.flagByKey.get(key);
    if (!flag) throw new UnknownFlagError(key);
    let profile = this.#profiles.peek(subject.tenantId);
    if (profile === undefined) profile = await this.#profiles.get(subject.tenantId);
    // The subject itself is the rollout's context: nothing is copied per evaluation.
    return evaluateFlag(flag, snapshot.planDefaults.get(planOf(subject, profile)), profile?.overrides, subject);
  }

  /** Every flag, in key order, with the level each value came from. */
  async evaluateAll(subject: FlagSubject): Promise<FlagEvaluation[]> {
    const snapshot = await this.#catalog.snapshot();
    let profile = this.#profiles.peek(subject.tenantId);
    if (profile === undefined) profile = await this.#profiles.get(subject.tenantId);
    const planDefaults = snapshot.planDefaults.get(planOf(subject, profile));
    return snapshot.flags.map((flag) => evaluateFlag(flag, planDefaults, profile?.overrides, subject));
  }

  async isEnabled(key: string, subject: FlagSubject): Promise<boolean> {
    return (await this.evaluate(key, subject)).value === true;
  }

  /** The cheapest plan on which the boolean flag is on without a tenant override. */
  async cheapestPlanWith(key: string): Promise<string | null> {
    const snapshot = await this.#catalog.snapshot();
    return cheapestPlanWith(snapshot, key);
  }
}

/** The plan resolved for a request is the freshest; the profile's is at most one TTL old. */
function planOf(subject: FlagSubject, profile: TenantProfile | null): string {
  const plan = subject.plan ?? profile?.plan;
  if (!plan) throw new AppError('tenant-not-found');
  return plan;
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
