// The durable delivery job: one run is one attempt of one delivery, in its tenant's context.
// A failed attempt is not a failed job; the attempt queues the next one itself, with backoff
// and jitter, until the retry window closes (see attempt-delivery.ts).

import { defineTenantJob } from '../jobs/define-job.js';
import { currentTenantId } from '../tenancy/context.js';
import { attemptDelivery } from './attempt-delivery.js';
import { DELIVER_WEBHOOK_JOB, DeliveryJobPayload } from './delivery-job-message.js';
import { webhookRuntime } from './webhook-runtime.js';
import type { WebhookTables } from './webhook-tables.js';

export const deliverWebhookJob = defineTenantJob({
  name: DELIVER_WEBHOOK_JOB,
  payload: DeliveryJobPayload,
  handler: async (payload, { db, clock, config }, run) => {
    await attemptDelivery(
      { db: db.withTables<WebhookTables>(), clock, config: config.webhooks, runtime: webhookRuntime(config), logger: run.logger },
      currentTenantId(),
      payload,
    );
  },
});
