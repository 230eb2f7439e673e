// The job queue (graphile-worker on our PostgreSQL): enqueue() stamps the caller's tenant and
// request id on the payload; the worker restores them per job and runs it through the scoped helper.
//
// Enqueue is deliberately NOT part of the tenant transaction. graphile_worker.add_job() is
// SECURITY INVOKER and writes graphile_worker._private_jobs, a table with no tenant_id and no
// RLS that holds every tenant's payloads: letting the app role call it would mean granting the
// app role read/write on a cross-tenant table (and re-granting after every queue upgrade),
// which is the hole the two isolation layers exist to close. So jobs are added through the
// pool's login user, and callers enqueue AFTER db.tenant() has returned (committed). The cost:
// a crash between commit and enqueue loses that job, so handlers must be idempotent and work
// that must happen also has a schedule (the purge runs from cron, not from the DELETE).

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
import { currentContext } from '../tenancy/context.js';
import type { JobDefinition, JobDependencies } from './define-job.js';
import { isUuid } from '../db/ids.js';
import type { JobEnvelope } from './job-envelope.js';
import { toTask } from './job-task.js';
import { QUEUE_SCHEMA } from './migrate-queue.js';
import { workerLogger } from './worker-logger.js';
import { WorkerSupervisor } from './worker-supervisor.js';

export interface EnqueueOptions {
  /**
   * The tenant a tenant job runs for, for callers outside a request (CLI, service jobs).
   * Inside a request the request's tenant is used, and naming another one throws.
   */
  readonly tenantId?: string;
  readonly runAt?: Date;
  readonly maxAttempts?: number;
  /** A pending job with the same key is replaced instead of duplicated. */
  readonly jobKey?: string;
}

export interface JobSchedule {
  readonly job: string;
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
  readonly dependencies: JobDependencies;
  readonly definitions: readonly JobDefinition[];
  readonly schedules?: readonly JobSchedule[];
}

export class JobTenantError extends Error {
  override name = 'JobTenantError';
}

export class UnknownJobError extends Error {
  override name = 'UnknownJobError';
}

export class Jobs {
  /** graphile-worker's events (job:success, job:error, job:failed ...), for metrics and tests. */
  readonly events: WorkerEvents = new EventEmitter() as WorkerEvents;
  readonly #pool: pg.Pool;
  readonly #deps: JobDependencies;
  readonly #definitions: ReadonlyMap<string, JobDefinition>;
  readonly #schedules: readonly JobSchedule[];
  #utils: Promise<WorkerUtils> | undefined;
  #worker: WorkerSupervisor | undefined;

  constructor(options: JobsOptions) {
    this.#pool = options.pool;
    this.#deps = options.dependencies;
    this.#definitions = new Map(options.definitions.map((definition) => [definition.name, definition]));
    if (this.#definitions.size !== options.definitions.length) throw new TypeError('two jobs share a name');
    this.#schedules = options.schedules ?? [];
    for (const schedule of this.#schedules) this.#definition(schedule.job);
  }

  /**
   * Queues a job. A tenant job carries the current request's tenant (or, outside a
   * request, options.tenantId); the request id goes along for tracing.
   *
   * @example
   *   await db.tenant((tx) => insertExport(tx, exportRow));       // commit first
   *   await jobs.enqueue('build-export', { exportId: exportRow.id }); // then enqueue
   */
  async enqueue<P>(name: string, data: P, options: EnqueueOptions = {}): Promise<{ id: string }> {
    const definition = this.#definition(name);
    const context = currentContext();
    let tenantId: string | undefined;
    if (definition.scope === 'tenant') {
      tenantId = context?.tenantId ?? options.tenantId;
      if (context?.tenantId && options.tenantId && options.tenantId !== context.tenantId) {
        throw new JobTenantError(`a request of one tenant cannot enqueue "${name}" for another tenant`);
      }
      if (!isUuid(tenantId)) throw new JobTenantError(`tenant job "${name}" needs a tenant: enqueue it inside one`);
    } else if (options.tenantId) {
      throw new JobTenantError(`service job "${name}" spans tenants and takes no tenant id`);
    }
    const envelope: JobEnvelope<P> = { tenantId, requestId: context?.requestId, data };
    const utils = await (this.#utils ??= makeWorkerUtils({
      pgPool: this.#pool,
      schema: QUEUE_SCHEMA,
      logger: workerLogger(this.#deps.logger),
    }));
    const job = await utils.addJob(name, envelope as never, {
      ...(options.runAt ? { runAt: options.runAt } : {}),
      ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
      ...(options.jobKey ? { jobKey: options.jobKey } : {}),
    });
    return { id: String(job.id) };
  }

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
              task: schedule.job,
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

  #definition(name: string): JobDefinition {
    const definition = this.#definitions.get(name);
    if (!definition) throw new UnknownJobError(`no job named "${name}"`);
    return definition;
  }

  #taskList(): TaskList {
    return Object.fromEntries([...this.#definitions.values()].map((definition) => [definition.name, toTask(definition, this.#deps)]));
  }
}
