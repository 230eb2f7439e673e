// One attempt of one delivery, as the delivery job runs it: claim the attempt (a second run of
// the same job finds it taken and stops), sign and send outside any transaction, then record
// the attempt and either finish the delivery or queue the next attempt, in one transaction.

import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { WebhookConfig } from '../config.js';
import { enqueueDelivery, type DeliveryJobPayload } from './delivery-job-message.js';
import { claimAttempt, eventOf, insertAttempt, settleDelivery } from './delivery-repository.js';
import { secretsOf } from './endpoint-repository.js';
import { nextAttemptAt } from './retry-schedule.js';
import { eventBody } from './tenant-event.js';
import type { WebhookRuntime } from './webhook-runtime.js';
import type { SendResult } from './webhook-sender.js';
import { signedHeaders } from './webhook-signature.js';
import type { WebhookDatabase } from './webhook-tables.js';

export interface AttemptDependencies {
  readonly db: WebhookDatabase;
  readonly clock: Clock;
  readonly config: WebhookConfig;
  readonly runtime: WebhookRuntime;
  readonly logger: Logger;
}

type Prepared =
  | { readonly kind: 'skip' }
  | { readonly kind: 'give-up'; readonly reason: string }
  | { readonly kind: 'send'; readonly url: string; readonly headers: Record<string, string>; readonly body: string; readonly createdAt: Date };

export async function attemptDelivery(deps: AttemptDependencies, tenantId: string, job: DeliveryJobPayload): Promise<void> {
  const { db, clock, config, runtime } = deps;
  const claimedAt = clock.now();
  // Held a little past the longest an attempt can take; a run that died is replaced after it.
  const holdUntil = new Date(claimedAt.getTime() + config.connectTimeoutMs + config.responseTimeoutMs + 30_000);
  const prepared = await db.tenant(async (tx): Promise<Prepared> => {
    const delivery = await claimAttempt(tx, job.deliveryId, job.attempt, claimedAt, holdUntil);
    if (!delivery) return { kind: 'skip' };
    if (claimedAt.getTime() > delivery.createdAt.getTime() + config.retryWindowSeconds * 1000) return { kind: 'give-up', reason: 'retry window passed' };
    const endpoint = await secretsOf(tx, delivery.endpointId);
    if (!endpoint) return { kind: 'give-up', reason: 'the endpoint was deleted' };
    if (!endpoint.enabled) return { kind: 'give-up', reason: 'the endpoint is disabled' };
    const event = await eventOf(tx, delivery.eventId);
    if (!event) return { kind: 'give-up', reason: 'the event is gone' };
    const owner = { tenantId, endpointId: delivery.endpointId };
    const secrets: string[] = [];
    try {
      secrets.push(await runtime.secrets.open(endpoint.current, owner));
      if (endpoint.previous && endpoint.previous.expiresAt > claimedAt) secrets.push(await runtime.secrets.open(endpoint.previous.sealed, owner));
    } catch (error) {
      // No key configured, or another key than the one that sealed it: retrying cannot help.
      deps.logger.error({ err: error, delivery_id: job.deliveryId }, 'webhook signing secret could not be opened');
      return { kind: 'give-up', reason: 'the signing secret could not be opened (server key missing or changed); rotate the secret' };
    }
    const body = eventBody(event);
    return { kind: 'send', url: endpoint.url, body, headers: { ...signedHeaders(secrets, event.id, claimedAt, body) }, createdAt: delivery.createdAt };
  });
  if (prepared.kind === 'skip') return;
  if (prepared.kind === 'give-up') {
    await db.tenant((tx) =>
      settleDelivery(tx, job.deliveryId, job.attempt, { status: 'failed', attempts: job.attempt, nextAttemptAt: null, lastError: prepared.reason, now: clock.now() }),
    );
    deps.logger.info({ delivery_id: job.deliveryId, reason: prepared.reason }, 'webhook delivery given up');
    return;
  }

  const result = await runtime.sender.send({ url: prepared.url, headers: prepared.headers, body: prepared.body });
  await record(deps, tenantId, job, result, prepared.createdAt);
}

async function record(deps: AttemptDependencies, tenantId: string, job: DeliveryJobPayload, result: SendResult, createdAt: Date): Promise<void> {
  const { db, clock, config } = deps;
  const now = clock.now();
  const attempt = job.attempt + 1;
  const giveUpAt = new Date(createdAt.getTime() + config.retryWindowSeconds * 1000);
  const next = result.ok ? undefined : nextAttemptAt(attempt, now, giveUpAt, config);
  const status = result.ok ? 'succeeded' : next ? 'pending' : 'failed';
  await db.tenant(async (tx) => {
    await insertAttempt(tx, {
      deliveryId: job.deliveryId,
      attempt,
      outcome: result.ok ? 'succeeded' : 'failed',
      statusCode: result.statusCode,
      durationMs: result.durationMs,
      error: result.error,
      responseBody: result.responseBody,
      at: now,
    });
    const settled = await settleDelivery(tx, job.deliveryId, job.attempt, {
      status,
      attempts: attempt,
      nextAttemptAt: next ?? null,
      lastStatusCode: result.statusCode ?? null,
      lastError: result.error ?? null,
      now,
    });
    // Still ours unless the delivery was settled behind our back: then queue nothing more.
    if (settled && next) await enqueueDelivery(tx, tenantId, { deliveryId: job.deliveryId, attempt }, next);
  });
  const fields = { delivery_id: job.deliveryId, attempt, status_code: result.statusCode, duration_ms: result.durationMs };
  if (result.ok) deps.logger.info(fields, 'webhook delivered');
  else deps.logger.warn({ ...fields, error: result.error, next_attempt_at: next?.toISOString() ?? null }, status === 'failed' ? 'webhook delivery failed for good' : 'webhook attempt failed; retrying');
}
