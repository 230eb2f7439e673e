// The jobs the job tests enqueue, shared with the crash test's child process: a tenant job that
// notes each run in the process that runs it (and can be held mid-run), and a service job.

import { Type } from 'typebox';
import { Uuid } from '../../../src/http/common-schemas.js';
import { defineServiceJob, defineTenantJob } from '../../../src/jobs/define-job.js';
import { currentContext } from '../../../src/tenancy/context.js';

export interface NotedRun {
  readonly label: string;
  readonly jobId: string;
  readonly tenantId: string | undefined;
  readonly data: unknown;
}

/** Every run of either job in this process, in the order they started. */
export const runs: NotedRun[] = [];
const holds = new Map<string, Promise<void>>();

/** Runs of the job with this label (tests give each enqueue its own label). */
export function runsOf(label: string): NotedRun[] {
  return runs.filter((run) => run.label === label);
}

/** Keeps runs of `label` from finishing until the returned function is called. */
export function holdRunsOf(label: string): () => void {
  let release!: () => void;
  holds.set(label, new Promise<void>((resolve) => (release = resolve)));
  return release;
}

export const noteRun = defineTenantJob({
  name: 'note-run',
  payload: Type.Object({ label: Type.String({ minLength: 1 }), projectId: Uuid }, { additionalProperties: false }),
  handler: async (data, _deps, run) => {
    runs.push({ label: data.label, jobId: run.jobId, tenantId: currentContext()?.tenantId, data });
    await holds.get(data.label);
  },
});

export const serviceNote = defineServiceJob({
  name: 'service-note',
  payload: Type.Object({ label: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
  handler: async (data, _deps, run) => {
    runs.push({ label: data.label, jobId: run.jobId, tenantId: currentContext()?.tenantId, data });
  },
});
