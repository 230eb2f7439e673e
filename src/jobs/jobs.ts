// The job queue (graphile-worker on our PostgreSQL). Jobs are typed: enqueue takes a registered
// definition and a payload of its schema's type, and checks the payload against the schema too.
//
// A tenant job is enqueued INSIDE its tenant's unit of work, through the outbox: enqueue()
// writes an outbox row in that transaction, so the job exists if and only if the change
// commits, and the relay adds it to the queue after commit, even if this process dies first.
// The queue itself is never written in the tenant transaction: graphile_worker.add_job()
// writes _private_jobs, a table with no tenant_id and no RLS that holds every tenant's
// payloads, and the app role is granted nothing on it. The relay adds the job through the
// queue's own login, under a job key derived from the outbox message: a message delivered
// again (the relay died after adding the job, before deleting the row) finds its job, pending,
// running or failed, instead of adding a second one. Delivery stays at least once: a message
// delivered again after its job completed (and left the queue) adds it again, so handlers
// must be idempotent. The job's tenant is the outbox row's, which both isolation layers check.
// Service jobs span tenants and have no outbox: they run from schedules or enqueueDirect().

import { EventEmitter } from 'node:events';
import {
  makeWorkerUtils,
  parseCronItems,
  run,
  type TaskList,
  type WorkerEvents,
  type WorkerUtils,
} from 'graphile-worker';
import type pg from 'pg';
import type { Static, TSchema } from 'typebox';
import { platformTx, type Tx } from '../db/database.js';
import type { Tables } from '../db/tables.js';
import { isUuid } from '../db/ids.js';
import type { OutboxConsumer } from '../outbox/outbox-message.js';
import { recordEffect } from '../outbox/record-effect.js';
import { currentContext } from '../tenancy/context.js';
import type { JobDefinition, JobDependencies, ServiceJob, TenantJob } from './define-job.js';
import type { JobEnvelope } from './job-envelope.js';
import { JOB_ENQUEUE_TOPIC, jobKeyOf, readJobMessage, type JobMessage } from './job-outbox.js';
import { asStored, payloadCheck, type PayloadCheck } from './job-payload.js';
import { toTask } from './job-task.js';
import { QUEUE_SCHEMA } from './migrate-queue.js';
import { workerLogger } from './worker-logger.js';
import { WorkerSupervisor } from './worker-supervisor.js';

export interface EnqueueOptions {
  /** Not before then; by default as soon as a worker is free. */
  readonly runAt?: Date;
  /** Attempts before the queue gives up on it (graphile-worker's default: 25). */
  readonly maxAttempts?: number;
}

export interface JobSchedule {
  /** A registered service job whose payload schema accepts `{}` (a schedule has no payload). */
  readonly job: ServiceJob;
  /** Five-field cron, in UTC: minute hour day month weekday. */
  readonly cron: string;
}

export interface WorkerSettings {
  readonly concurrency?: number;
  /** Fallback polling; new jobs are normally picked up at once through LISTEN/NOTIFY. */
  readonly pollIntervalMs?: number;
}

export interface JobsOptions {
  /** The pool's login user adds and runs jobs; jobs' own data work goes through deps.db. */
  readonly pool: pg.Pool;
  /** Everything but `jobs`, which is this queue itself. */
  readonly dependencies: Omit<JobDependencies, 'jobs'>;
  readonly definitions: readonly JobDefinition[];
  readonly schedules?: readonly JobSchedule[];
}

export class JobTenantError extends Error {
  override name = 'JobTenantError';
}

export class UnknownJobError extends Error {
  override name = 'UnknownJobError';
}

interface Registered {
  readonly definition: JobDefinition;
  readonly check: PayloadCheck;
}

export class Jobs {
  /** graphile-worker's events (job:success, job:error, job:failed ...), for metrics and tests. */
  readonly events: WorkerEvents = new EventEmitter() as WorkerEvents;
  readonly #pool: pg.Pool;
  readonly #deps: JobDependencies;
  readonly #registered = new Map<string, Registered>();
  readonly #schedules: readonly JobSchedule[];
  #utils: Promise<WorkerUtils> | undefined;
  #worker: WorkerSupervisor | undefined;

  constructor(options: JobsOptions) {
    this.#pool = options.pool;
    this.#deps = { ...options.dependencies, jobs: this };
    for (const definition of options.definitions) {
      if (this.#registered.has(definition.name)) throw new TypeError(`two jobs are named "${definition.name}"`);
      this.#registered.set(definition.name, { definition, check: payloadCheck(definition) });
    }
    this.#schedules = options.schedules ?? [];
    for (const schedule of this.#schedules) {
      try {
        this.#known(schedule.job, 'service').check({});
      } catch (error) {
        throw new TypeError(`schedule "${schedule.cron}" of "${schedule.job.name}": ${(error as Error).message}`);
      }
    }
  }

  /**
   * Enqueues a tenant job in the unit of work `tx`: it is added to the queue after that unit
   * commits, and never if it rolls back. `tenantId` is the unit's tenant (inside db.service(),
   * the tenant the job is for); the query filter and RLS refuse any other.
   *
   * @example
   *   await db.tenant(async (tx) => {
   *     await tx.insertInto('projects').values(project).execute();
   *     await jobs.enqueue(tx, actor.tenantId, recountTasks, { projectId: project.id });
   *   });
   */
  async enqueue<S extends TSchema, DB extends Tables>(
    tx: Tx<DB>,
    tenantId: string,
    job: TenantJob<S>,
    data: NoInfer<Static<S>>,
    options: EnqueueOptions = {},
  ): Promise<void> {
    const { check } = this.#known(job, 'tenant');
    if (!isUuid(tenantId)) throw new JobTenantError(`tenant job "${job.name}" needs the tenant id of its unit of work`);
    const message: JobMessage = {
      job: job.name,
      data: check(asStored(data)),
      requestId: currentContext()?.requestId,
      runAt: options.runAt?.toISOString(),
      maxAttempts: options.maxAttempts,
    };
    await recordEffect(platformTx(tx), tenantId, { topic: JOB_ENQUEUE_TOPIC, payload: message });
  }

  /**
   * Adds a service job to the queue at once, outside any transaction: for work an operator or
   * a test starts now rather than at its schedule. Tenant jobs have no such door: see enqueue().
   */
  async enqueueDirect<S extends TSchema>(job: ServiceJob<S>, data: NoInfer<Static<S>>, options: EnqueueOptions = {}): Promise<{ id: string }> {
    const { check } = this.#known(job, 'service');
    const envelope: JobEnvelope = { requestId: currentContext()?.requestId, data: check(asStored(data)) };
    const added = await (await this.#workerUtils()).addJob(job.name, envelope as never, {
      ...(options.runAt ? { runAt: options.runAt } : {}),
      ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
    });
    return { id: String(added.id) };
  }

  /**
   * The relay's consumer of JOB_ENQUEUE_TOPIC: adds the message's job for the row's tenant. A job
   * this instance does not know fails the delivery, which is retried (a newer instance may know
   * it); a service job is refused, since a tenant's unit of work must not start cross-tenant work.
   */
  readonly outboxConsumer: OutboxConsumer = async (outboxMessage) => {
    const message = readJobMessage(outboxMessage.payload);
    const { definition } = this.#named(message.job, 'tenant');
    const envelope: JobEnvelope = { tenantId: outboxMessage.tenantId, requestId: message.requestId, data: message.data };
    await (await this.#workerUtils()).addJob(definition.name, envelope as never, {
      jobKey: jobKeyOf(outboxMessage),
      // Not "replace": that adds a second job when the first is already running. The key
      // names one message, so an existing job is that message's job, in whatever state.
      jobKeyMode: 'unsafe_dedupe',
      ...(message.runAt ? { runAt: new Date(message.runAt) } : {}),
      ...(message.maxAttempts ? { maxAttempts: message.maxAttempts } : {}),
    });
  };

  /**
   * Starts the worker (once). The queue schema must exist: see migrateQueue(). A worker that
   * loses the database later is restarted when it is back (worker-supervisor.ts).
   */
  async start(settings: WorkerSettings = {}): Promise<void> {
    if (this.#worker) return;
    const worker = new WorkerSupervisor(
      () =>
        run({
          pgPool: this.#pool,
          schema: QUEUE_SCHEMA,
          concurrency: settings.concurrency ?? 2,
          pollInterval: settings.pollIntervalMs ?? 2_000,
          taskList: this.#taskList(),
          parsedCronItems: parseCronItems(
            this.#schedules.map((schedule) => ({
              task: schedule.job.name,
              match: schedule.cron,
              // A missed run is not replayed: the next one does the same work.
              options: { backfillPeriod: 0, maxAttempts: 3 },
            })),
          ),
          noHandleSignals: true,
          logger: workerLogger(this.#deps.logger),
          events: this.events,
        }),
      this.#deps.logger,
    );
    this.#worker = worker;
    await worker.start().catch((error: unknown) => {
      this.#worker = undefined;
      throw error;
    });
  }

  /** Stops taking jobs, waits for running ones, and releases the queue's connections. */
  async stop(): Promise<void> {
    const worker = this.#worker;
    const utils = this.#utils;
    this.#worker = undefined;
    this.#utils = undefined;
    await worker?.stop();
    // Utils that failed to start have nothing to release.
    await (await utils?.catch(() => undefined))?.release();
  }

  /** The entry of this very definition, refusing one not registered here (by identity, not name) or of the other scope. */
  #known(job: JobDefinition, scope: JobDefinition['scope']): Registered {
    const registered = this.#registered.get(job?.name);
    if (!registered || registered.definition !== job) {
      // A name, a copy, or a definition registered elsewhere: what a caller without types may pass.
      const what = typeof job === 'object' && job !== null ? `job "${job.name}"` : JSON.stringify(job);
      throw new UnknownJobError(`${what} is not a job registered with this job queue`);
    }
    return inScope(registered, scope);
  }

  #named(name: string, scope: JobDefinition['scope']): Registered {
    const registered = this.#registered.get(name);
    if (!registered) throw new UnknownJobError(`no job named "${name}" is registered with this job queue`);
    return inScope(registered, scope);
  }

  #workerUtils(): Promise<WorkerUtils> {
    return (this.#utils ??= makeWorkerUtils({ pgPool: this.#pool, schema: QUEUE_SCHEMA, logger: workerLogger(this.#deps.logger) }));
  }

  #taskList(): TaskList {
    return Object.fromEntries(
      [...this.#registered.values()].map(({ definition, check }) => [definition.name, toTask(definition, check, this.#deps)]),
    );
  }
}

function inScope(registered: Registered, scope: JobDefinition['scope']): Registered {
  const { name } = registered.definition;
  if (registered.definition.scope === scope) return registered;
  throw new JobTenantError(
    scope === 'tenant'
      ? `"${name}" is a service job: it spans tenants and is never enqueued by one`
      : `"${name}" is a tenant job: enqueue it in its tenant's unit of work`,
  );
}
