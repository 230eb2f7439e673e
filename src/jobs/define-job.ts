// How a job declares what it may touch and what it takes: a tenant job runs inside the scoped
// helper for its tenant, a service job runs cross-tenant, audited; each payload has a schema.

import type { Static, TSchema } from 'typebox';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import type { ModuleRegistry } from '../modules/registry.js';
import type { Jobs } from './jobs.js';

/** What every job handler gets, instead of reaching for globals. */
export interface JobDependencies {
  readonly db: Database;
  readonly clock: Clock;
  readonly config: Config;
  readonly logger: Logger;
  /** The registered modules (the purge walks their tenant tables). */
  readonly modules: ModuleRegistry;
  /**
   * The queue the job runs on, to enqueue tenant jobs in a unit of work (a scheduled service
   * job fanning out to every tenant that has work). Filled in by Jobs itself.
   */
  readonly jobs: Pick<Jobs, 'enqueue'>;
}

export interface JobRun {
  /** The queue's id of this job; the handler's context has requestId `job:<id>`. */
  readonly jobId: string;
  readonly attempt: number;
  readonly logger: Logger;
  /** A tenant job's tenant, the one the envelope entered (undefined for a service job). */
  readonly tenantId?: string | undefined;
}

export type JobHandler<P> = (data: P, deps: JobDependencies, run: JobRun) => Promise<void>;

export interface JobDefinition<S extends TSchema = TSchema> {
  readonly name: string;
  readonly scope: 'tenant' | 'service';
  /** The payload's schema (TypeBox): checked when the job is enqueued and again before it runs. */
  readonly payload: S;
  // A method, not a property: a list of jobs with different payloads is a JobDefinition[].
  handler(data: Static<S>, deps: JobDependencies, run: JobRun): Promise<void>;
}

export interface TenantJob<S extends TSchema = TSchema> extends JobDefinition<S> {
  readonly scope: 'tenant';
}

export interface ServiceJob<S extends TSchema = TSchema> extends JobDefinition<S> {
  readonly scope: 'service';
}

export interface JobSpec<S extends TSchema> {
  /** Lowercase kebab-case; the queue's task name. */
  readonly name: string;
  readonly payload: S;
  readonly handler: JobHandler<Static<S>>;
}

const JOB_NAME = /^[a-z][a-z0-9-]{1,62}$/;

function named(name: string): string {
  if (!JOB_NAME.test(name)) throw new TypeError(`job name "${name}" must be lowercase kebab-case`);
  return name;
}

/**
 * A job that acts inside one tenant. It is enqueued in that tenant's unit of work (see
 * Jobs.enqueue) and its handler runs in that tenant's context, so it reads and writes through
 * `deps.db.tenant(...)` exactly like a request handler. The payload type comes from the schema.
 *
 * @example
 *   export const recountTasks = defineTenantJob({
 *     name: 'recount-tasks',
 *     payload: Type.Object({ projectId: Uuid }, { additionalProperties: false }),
 *     handler: async ({ projectId }, { db }) => {
 *       await db.tenant((tx) => tx.selectFrom('tasks').where('project_id', '=', projectId).execute());
 *     },
 *   });
 */
export function defineTenantJob<S extends TSchema>(spec: JobSpec<S>): TenantJob<S> {
  return Object.freeze({ name: named(spec.name), scope: 'tenant', payload: spec.payload, handler: spec.handler });
}

/**
 * A job that spans tenants (purges, rollups). It runs with no tenant in context; its
 * handler must go through `deps.db.service(reason, ...)`, which audits every use.
 */
export function defineServiceJob<S extends TSchema>(spec: JobSpec<S>): ServiceJob<S> {
  return Object.freeze({ name: named(spec.name), scope: 'service', payload: spec.payload, handler: spec.handler });
}
