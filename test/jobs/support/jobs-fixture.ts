// A test database with the queue's schema, a Jobs instance of the test jobs (its worker not
// started), relays that deliver job enqueues as the server's does, and a look into the queue.

import type { Job } from 'graphile-worker';
import pg from 'pg';
import { systemClock } from '../../../src/clock.js';
import { loadConfig } from '../../../src/config.js';
import type { Tx } from '../../../src/db/database.js';
import { JOB_ENQUEUE_TOPIC } from '../../../src/jobs/job-outbox.js';
import { Jobs } from '../../../src/jobs/jobs.js';
import { migrateQueue } from '../../../src/jobs/migrate-queue.js';
import type { OutboxRelay } from '../../../src/outbox/outbox-relay.js';
import { runWithContext } from '../../../src/tenancy/context.js';
import { startOutboxFixture, type OutboxFixture } from '../../outbox/support/outbox-fixture.js';
import { patient } from '../../support/pools.js';
import { TEST_REGISTRY } from '../../support/modules.js';
import { TEST_ROLES } from '../../support/roles.js';
import { noteRun, serviceNote } from './test-jobs.js';

export interface QueuedJob {
  readonly key: string | null;
  readonly task: string;
  readonly payload: { tenantId?: string; requestId?: string; data: unknown };
  readonly runAt: Date;
  readonly maxAttempts: number;
  readonly locked: boolean;
}

export interface JobsFixture {
  readonly outbox: OutboxFixture;
  readonly jobs: Jobs;
  /** A relay whose only consumer is the jobs', as the server registers it (tests drain it). */
  relay(): OutboxRelay;
  /** Runs `work` in a committed unit of work of `tenantId`. */
  inTenant<T>(tenantId: string, work: (tx: Tx) => Promise<T>): Promise<T>;
  /** Every job in the queue, whatever its state. */
  queued(): Promise<QueuedJob[]>;
  /** Resolves with the job once the worker finished it successfully; rejects when it failed. */
  finished(label: string, timeoutMs?: number): Promise<Job>;
  close(): Promise<void>;
}

export async function startJobsFixture(): Promise<JobsFixture> {
  const outbox = await startOutboxFixture();
  await migrateQueue(outbox.database.url, TEST_ROLES, outbox.logger);
  const queuePool = patient(new pg.Pool({ connectionString: outbox.database.url, max: 4 }));
  const jobs = new Jobs({
    pool: queuePool,
    dependencies: { db: outbox.db, clock: systemClock, config: loadConfig({}), logger: outbox.logger, modules: TEST_REGISTRY },
    definitions: [noteRun, serviceNote],
  });
  return {
    outbox,
    jobs,
    relay: () => outbox.relay({ [JOB_ENQUEUE_TOPIC]: jobs.outboxConsumer }),
    inTenant: (tenantId, work) => runWithContext({ requestId: 'jobs-test', tenantId }, () => outbox.db.tenant(work)),
    async queued() {
      const { rows } = await outbox.database.admin.query(
        `SELECT j.key, t.identifier AS task, j.payload, j.run_at AS "runAt", j.max_attempts AS "maxAttempts",
                j.locked_at IS NOT NULL AS locked
         FROM graphile_worker._private_jobs j JOIN graphile_worker._private_tasks t ON t.id = j.task_id
         ORDER BY j.id`,
      );
      return rows;
    },
    finished(label, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const ofLabel = (job: Job) => (job.payload as { data?: { label?: unknown } } | null)?.data?.label === label;
        const timer = setTimeout(() => done(new Error(`job "${label}" did not finish within ${timeoutMs} ms`)), timeoutMs);
        const onSuccess = ({ job }: { job: Job }) => ofLabel(job) && done(undefined, job);
        const onError = ({ job, error }: { job: Job; error: unknown }) => ofLabel(job) && done(error as Error);
        function done(error: Error | undefined, job?: Job): void {
          clearTimeout(timer);
          jobs.events.off('job:success', onSuccess);
          jobs.events.off('job:error', onError);
          if (error) reject(error);
          else resolve(job!);
        }
        jobs.events.on('job:success', onSuccess);
        jobs.events.on('job:error', onError);
      });
    },
    async close() {
      await jobs.stop();
      await queuePool.end();
      await outbox.close();
    },
  };
}
