// The durable delivery job: one run is one attempt of one delivery, in its tenant's context.
// A failed attempt is not a failed job; the attempt queues the next one itself, with backoff
// and jitter, until the retry window closes (see attempt-delivery.ts).

import { defineTenantJob } from '../jobs/define-job.js';
import { attemptDelivery } from './attempt-delivery.js';
import { DELIVER_WEBHOOK_JOB, DeliveryJobPayload } from './delivery-job-message.js';
import { webhookRuntime } from './webhook-runtime.js';
import type { WebhookTables } from './webhook-tables.js';

export const deliverWebhookJob = defineTenantJob({
  name: DELIVER_WEBHOOK_JOB,
  payload: DeliveryJobPayload,
  handler: async (payload, { db, clock, config }, run) => {
    // A tenant job never runs without its tenant (the envelope refuses first).
    if (!run.tenantId) throw new Error('deliver-webhook ran without a tenant');
    await attemptDelivery(
      { db: db.withTables<WebhookTables>(), clock, config: config.webhooks, runtime: webhookRuntime(config), logger: run.logger },
      run.tenantId,
      payload,
    );
  },
});
