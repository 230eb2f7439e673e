// An OpenFeature provider over Tenantry's flags: application code evaluates through the
// standard API, which has no argument for our Actor, so the tenant, plan and user come from
// the ambient request context, never from attributes the caller passes in.

import {
  FlagNotFoundError,
  InvalidContextError,
  StandardResolutionReasons,
  TypeMismatchError,
  type JsonValue,
  type Provider,
  type ResolutionDetails,
} from '@openfeature/server-sdk';
import { AppError } from '../http/problems.js';
import { currentContext } from '../tenancy/context.js';
import type { FlagEvaluation } from './evaluate-flag.js';
import { UnknownFlagError } from './flag.js';
import type { Flags } from './flags.js';

/**
 * @example
 *   import { OpenFeature } from '@openfeature/server-sdk';
 *   await OpenFeature.setProviderAndWait(new TenantryFlagProvider(services.flags));
 *   // inside a request handler (the tenant comes from the request context):
 *   const on = await OpenFeature.getClient().getBooleanValue('new_dashboard', false);
 */
export class TenantryFlagProvider implements Provider {
  readonly metadata = { name: 'tenantry' } as const;
  readonly runsOn = 'server' as const;
  readonly #flags: Flags;

  constructor(flags: Flags) {
    this.#flags = flags;
  }

  resolveBooleanEvaluation(flagKey: string, defaultValue: boolean): Promise<ResolutionDetails<boolean>> {
    return this.#resolve(flagKey, defaultValue, (value): value is boolean => typeof value === 'boolean');
  }

  resolveStringEvaluation(flagKey: string, defaultValue: string): Promise<ResolutionDetails<string>> {
    return this.#resolve(flagKey, defaultValue, (value): value is string => typeof value === 'string');
  }

  resolveNumberEvaluation(flagKey: string, defaultValue: number): Promise<ResolutionDetails<number>> {
    return this.#resolve(flagKey, defaultValue, (value): value is number => typeof value === 'number');
  }

  resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T): Promise<ResolutionDetails<T>> {
    return this.#resolve(flagKey, defaultValue, (value): value is T => typeof value === 'object' && value !== null);
  }

  /** The caller's evaluation context is ignored on purpose: only the server side says who asks. */
  async #resolve<T>(flagKey: string, _defaultValue: T, fits: (value: unknown) => value is T): Promise<ResolutionDetails<T>> {
    const context = currentContext();
    if (!context?.tenantId) throw new InvalidContextError('no tenant in the request context');
    const { tenantId, plan, userId, role } = context;
    let evaluation: FlagEvaluation;
    try {
      evaluation = await this.#flags.evaluate(flagKey, { tenantId, plan, userId, role });
    } catch (error) {
      if (error instanceof UnknownFlagError) throw new FlagNotFoundError(`no flag "${flagKey}"`);
      if (error instanceof AppError && error.code === 'tenant-not-found') {
        throw new InvalidContextError('the tenant of the request context does not exist');
      }
      throw error;
    }
    if (!fits(evaluation.value)) throw new TypeMismatchError(`flag "${flagKey}" holds a ${typeof evaluation.value}`);
    return {
      value: evaluation.value,
      variant: evaluation.kind === 'variant' ? JSON.stringify(evaluation.value) : String(evaluation.value),
      reason:
        evaluation.source === 'default'
          ? evaluation.kind === 'rollout'
            ? StandardResolutionReasons.SPLIT
            : StandardResolutionReasons.DEFAULT
          : StandardResolutionReasons.TARGETING_MATCH,
      flagMetadata: { source: evaluation.source, kind: evaluation.kind },
    };
  }
}
