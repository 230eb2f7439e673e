// Checks a value offered for one level of a flag (plan default, tenant override) against
// the flag's kind, so evaluation never meets a value of the wrong type.

import { AppError } from '../http/problems.js';
import type { FlagDefinition } from './flag.js';
import { valueFitsFlag } from './evaluate-flag.js';

const MAX_VARIANT_JSON = 4096;

export function assertValueFits(flag: Pick<FlagDefinition, 'key' | 'kind'>, value: unknown, field = 'value'): void {
  if (!valueFitsFlag(flag, value)) {
    const expected = flag.kind === 'variant' ? 'a JSON value other than null' : 'true or false';
    throw new AppError('validation-failed', `flag "${flag.key}" is a ${flag.kind} flag: ${field} must be ${expected}`, { field });
  }
  if (flag.kind === 'variant' && JSON.stringify(value).length > MAX_VARIANT_JSON) {
    throw new AppError('validation-failed', `${field} must be at most ${MAX_VARIANT_JSON} characters of JSON`, { field });
  }
}
