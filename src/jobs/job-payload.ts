// A job's payload is checked against its schema as the queue will hold it (JSON), as strictly
// as a request body (no coercion, the same formats): when it is enqueued and before it runs.

import { compileBodyValidator } from '../http/validation.js';
import type { JobDefinition } from './define-job.js';
import { InvalidJobPayloadError } from './job-envelope.js';

/** Returns the payload as stored (schema defaults filled in), or throws InvalidJobPayloadError. */
export type PayloadCheck = (stored: unknown) => unknown;

export function payloadCheck(definition: JobDefinition): PayloadCheck {
  const validate = compileBodyValidator(definition.payload);
  return (stored) => {
    if (validate(stored)) return stored;
    // The rule that failed, never the value: payloads may carry what logs must not.
    const issue = validate.errors?.[0];
    const where = issue?.instancePath ? `payload${issue.instancePath}` : 'payload';
    throw new InvalidJobPayloadError(`job "${definition.name}": ${where} ${issue?.message ?? 'does not match its schema'}`);
  };
}

/**
 * What the queue will hold: the payload through JSON (a Date becomes a string, an undefined
 * field disappears), so the check sees exactly what the handler will get.
 */
export function asStored(data: unknown): unknown {
  return data === undefined ? undefined : JSON.parse(JSON.stringify(data));
}
