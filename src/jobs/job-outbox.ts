// Tenant jobs travel through the outbox: enqueue writes this message in the changing unit of
// work, and the relay hands it to the queue after commit, keyed so a redelivery adds nothing.

import type { OutboxMessage } from '../outbox/outbox-message.js';
import { InvalidJobPayloadError } from './job-envelope.js';

export const JOB_ENQUEUE_TOPIC = 'jobs.enqueue';

/** An outbox row of JOB_ENQUEUE_TOPIC. Its tenant is the row's own tenant_id, never a field. */
export interface JobMessage {
  readonly job: string;
  readonly data: unknown;
  /** The request that enqueued it, for tracing across the hop. */
  readonly requestId?: string | undefined;
  readonly runAt?: string | undefined;
  readonly maxAttempts?: number | undefined;
}

/** Reads a JobMessage back from the outbox defensively: a row another version wrote may differ. */
export function readJobMessage(payload: unknown): JobMessage {
  const raw = (payload ?? {}) as Record<string, unknown>;
  if (typeof raw !== 'object' || Array.isArray(raw) || typeof raw.job !== 'string') {
    throw new InvalidJobPayloadError(`outbox message of "${JOB_ENQUEUE_TOPIC}" names no job`);
  }
  return {
    job: raw.job,
    data: raw.data,
    requestId: typeof raw.requestId === 'string' ? raw.requestId : undefined,
    runAt: typeof raw.runAt === 'string' ? raw.runAt : undefined,
    maxAttempts: typeof raw.maxAttempts === 'number' ? raw.maxAttempts : undefined,
  };
}

/**
 * The queue's job key for a message: delivering the same message again finds the job it added
 * (pending, running or failed) instead of adding a second one.
 */
export function jobKeyOf(message: OutboxMessage): string {
  return `outbox:${message.tenantId}:${message.id}`;
}
