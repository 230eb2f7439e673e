// What a delivery job carries, and how it is put in the queue from inside a unit of work: the
// same `jobs.enqueue` outbox message Jobs.enqueue writes. The publisher and the delivery job
// (whose handler is handed no Jobs instance) both write it here, in the changing transaction,
// so a delivery is queued if and only if its rows commit.

import { Type, type Static } from 'typebox';
import { platformTx, type Tx } from '../db/database.js';
import { Uuid } from '../http/common-schemas.js';
import { JOB_ENQUEUE_TOPIC, type JobMessage } from '../jobs/job-outbox.js';
import { recordEffect } from '../outbox/record-effect.js';
import { currentContext } from '../tenancy/context.js';

export const DELIVER_WEBHOOK_JOB = 'deliver-webhook';

export const DeliveryJobPayload = Type.Object(
  {
    deliveryId: Uuid,
    /** Attempts the delivery had finished when this job was queued: a second run of it finds more and stops. */
    attempt: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);
export type DeliveryJobPayload = Static<typeof DeliveryJobPayload>;

/**
 * Infrastructure failures (the database away while recording an attempt) are retried by the
 * queue a few times; failed HTTP attempts are not failures of the job: it schedules the next.
 */
const JOB_MAX_ATTEMPTS = 5;

export async function enqueueDelivery<DB>(tx: Tx<DB>, tenantId: string, payload: DeliveryJobPayload, runAt?: Date): Promise<void> {
  const message: JobMessage = {
    job: DELIVER_WEBHOOK_JOB,
    data: { deliveryId: payload.deliveryId, attempt: payload.attempt },
    requestId: currentContext()?.requestId,
    runAt: runAt?.toISOString(),
    maxAttempts: JOB_MAX_ATTEMPTS,
  };
  await recordEffect(platformTx(tx as never), tenantId, { topic: JOB_ENQUEUE_TOPIC, payload: message });
}
