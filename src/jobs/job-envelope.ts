// What a queued job carries besides its own data: the tenant it acts for and the request
// that enqueued it. Parsed defensively, because any process with queue access can add jobs.

import { isUuid } from '../db/ids.js';

export interface JobEnvelope<P = unknown> {
  /** The tenant a tenant job runs for; absent on service jobs. */
  readonly tenantId?: string | undefined;
  /** The request (or job) that enqueued this one, for tracing across the hop. */
  readonly requestId?: string | undefined;
  readonly data: P;
}

/** An envelope as read from the queue, with where the job came from. */
export interface QueuedEnvelope<P = unknown> extends JobEnvelope<P> {
  /** Added by the queue's crontab (its payload has a `_cron` field), not by anyone's request. */
  readonly scheduled: boolean;
}

export class InvalidJobPayloadError extends Error {
  override name = 'InvalidJobPayloadError';
}

/** Reads an envelope from a raw queue payload; a malformed tenant id is an error, never "no tenant". */
export function readEnvelope(payload: unknown): QueuedEnvelope {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw new InvalidJobPayloadError('job payload must be a JSON object');
  }
  const raw = payload as Record<string, unknown>;
  if (raw.tenantId !== undefined && !isUuid(raw.tenantId)) {
    throw new InvalidJobPayloadError('job payload names a malformed tenant id');
  }
  const requestId = typeof raw.requestId === 'string' ? raw.requestId : undefined;
  const scheduled = typeof raw._cron === 'object' && raw._cron !== null;
  return { tenantId: raw.tenantId as string | undefined, requestId, scheduled, data: raw.data ?? {} };
}
