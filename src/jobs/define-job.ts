// How a job declares what it may touch: a tenant job runs inside the scoped helper for the
// tenant in its payload (and fails without one); a service job runs cross-tenant, audited.

import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import type { ModuleRegistry } from '../modules/registry.js';

/** What every job handler gets, instead of reaching for globals. */
export interface JobDependencies {
  readonly db: Database;
  readonly clock: Clock;
  readonly config: Config;
  readonly logger: Logger;
  /** The registered modules (the purge walks their tenant tables). */
  readonly modules: ModuleRegistry;
}

export interface JobRun {
  /** The queue's id of this job; the handler's context has requestId `job:<id>`. */
  readonly jobId: string;
  readonly attempt: number;
  readonly logger: Logger;
}

export type JobHandler<P> = (data: P, deps: JobDependencies, run: JobRun) => Promise<void>;

export interface JobDefinition<P = any> {
  readonly name: string;
  readonly scope: 'tenant' | 'service';
  readonly handler: JobHandler<P>;
}

const JOB_NAME = /^[a-z][a-z0-9-]{1,62}$/;

function named(name: string): string {
  if (!JOB_NAME.test(name)) throw new TypeError(`job name "${name}" must be lowercase kebab-case`);
  return name;
}

/**
 * A job that acts inside one tenant. Its handler runs in that tenant's context, so it
 * reads and writes through `deps.db.tenant(...)` exactly like a request handler.
 *
 * @example
 *   export const recountTasks = defineTenantJob<{ projectId: string }>('recount-tasks', async (data, { db }) => {
 *     await db.tenant((tx) => tx.selectFrom('tasks').where('project_id', '=', data.projectId).execute());
 *   });
 */
export function defineTenantJob<P = Record<string, never>>(name: string, handler: JobHandler<P>): JobDefinition<P> {
  return Object.freeze({ name: named(name), scope: 'tenant', handler });
}

/**
 * A job that spans tenants (purges, rollups). It runs with no tenant in context; its
 * handler must go through `deps.db.service(reason, ...)`, which audits every use.
 */
export function defineServiceJob<P = Record<string, never>>(name: string, handler: JobHandler<P>): JobDefinition<P> {
  return Object.freeze({ name: named(name), scope: 'service', handler });
}
