// Evaluates one flag from data already in memory: tenant override, else plan default, else
// the flag's own default (for a rollout, the tenant's bucket against the percentage). The
// context comes only from the server side: tenant, plan, user, role.

import type { FlagDefinition, FlagKind } from './flag.js';
import { rolloutBucket } from './murmur3.js';

export interface FlagContext {
  readonly tenantId: string;
  readonly plan: string;
  readonly userId?: string | undefined;
  readonly role?: string | undefined;
}

/** Which level the value came from, most specific last. */
export type FlagSource = 'default' | 'plan' | 'tenant';

export interface FlagEvaluation {
  readonly key: string;
  readonly kind: FlagKind;
  readonly value: unknown;
  readonly source: FlagSource;
}

/** What a rollout buckets by: all of the context evaluation reads (the plan picks `planDefaults`). */
export type RolloutSubject = Pick<FlagContext, 'tenantId' | 'userId'>;

export function evaluateFlag(
  flag: FlagDefinition,
  planDefaults: ReadonlyMap<string, unknown> | undefined,
  overrides: ReadonlyMap<string, unknown> | undefined,
  context: RolloutSubject,
): FlagEvaluation {
  const override = overrides?.get(flag.key);
  if (override !== undefined) return { key: flag.key, kind: flag.kind, value: override, source: 'tenant' };
  const planDefault = planDefaults?.get(flag.key);
  if (planDefault !== undefined) return { key: flag.key, kind: flag.kind, value: planDefault, source: 'plan' };
  return { key: flag.key, kind: flag.kind, value: defaultValue(flag, context), source: 'default' };
}

function defaultValue(flag: FlagDefinition, context: RolloutSubject): unknown {
  if (flag.kind !== 'rollout') return flag.defaultValue;
  const attribute = flag.bucketBy === 'userId' ? context.userId : context.tenantId;
  // No user (an API key) to bucket by: outside the rollout rather than a guess.
  if (attribute === undefined) return false;
  return rolloutBucket(flag.key, attribute) < (flag.rolloutBasisPoints ?? 0);
}

/** The value type every level of a flag must hold: booleans for boolean and rollout flags. */
export function valueFitsFlag(flag: Pick<FlagDefinition, 'kind'>, value: unknown): boolean {
  if (value === undefined) return false;
  return flag.kind === 'variant' ? value !== null : typeof value === 'boolean';
}
