// Turns a job definition into a graphile-worker task that checks the stored payload and restores
// the job's context. Each run gets a context of its own: nothing from the worker or an earlier job leaks in.

import type { Task } from 'graphile-worker';
import { runWithContext } from '../tenancy/context.js';
import { enterTenant } from '../tenancy/enter-tenant.js';
import type { JobDefinition, JobDependencies, JobRun } from './define-job.js';
import { readEnvelope } from './job-envelope.js';
import type { PayloadCheck } from './job-payload.js';

export class MissingJobTenantError extends Error {
  override name = 'MissingJobTenantError';
  constructor(job: string) {
    super(`tenant job "${job}" has no tenant id in its payload; refusing to run it unscoped`);
  }
}

export function toTask(definition: JobDefinition, check: PayloadCheck, deps: JobDependencies): Task {
  return async (payload, helpers) => {
    const envelope = readEnvelope(payload);
    // Checked at enqueue too, but the queue also holds what another version of the code (or
    // anyone with queue access) added: a payload its schema refuses fails the attempt before
    // the handler runs, and is retried with the queue's backoff like any failure.
    const data = check(envelope.data);
    const jobId = String(helpers.job.id);
    const requestId = `job:${jobId}`;
    const logger = deps.logger.child({
      job: definition.name,
      request_id: requestId,
      origin_request_id: envelope.requestId,
      ...(definition.scope === 'tenant' ? { tenant_id: envelope.tenantId } : {}),
    });
    const run: JobRun = { jobId, attempt: helpers.job.attempts, logger, tenantId: definition.scope === 'tenant' ? envelope.tenantId : undefined };
    logger.debug({ attempt: run.attempt }, 'job started');

    if (definition.scope === 'service') {
      // A fresh context without a tenant, even if the worker was started inside one. A run of
      // the crontab is the platform's machinery: its service-role uses are recorded as recurring.
      return runWithContext({ requestId, ...(envelope.scheduled ? { scheduled: true } : {}) }, () => definition.handler(data, deps, run));
    }
    const tenantId = envelope.tenantId;
    if (!tenantId) throw new MissingJobTenantError(definition.name);
    return enterTenant({ tenantId, requestId }, async () => {
      // A tenant deleted after the job was queued is gone: its jobs end without acting.
      const live = await deps.db.tenant((tx) =>
        tx.selectFrom('tenants').select('id').where('id', '=', tenantId).where('deleted_at', 'is', null).executeTakeFirst(),
      );
      if (!live) {
        logger.warn('tenant job skipped: its tenant is deleted or unknown');
        return;
      }
      await definition.handler(data, deps, run);
    });
  };
}
