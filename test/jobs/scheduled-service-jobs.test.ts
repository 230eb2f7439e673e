// A scheduled service job (the queue's crontab runs the usage rollup every minute) is the
// platform's machinery: its db.service() uses are recorded once an hour per reason, as
// recurring work is, instead of a service_role_audit row a minute for ever. The same job queued
// by a request is recorded on every use, as any work a request causes.

import type { JobHelpers } from 'graphile-worker';
import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Database } from '../../src/db/database.js';
import { defineServiceJob, type JobDependencies } from '../../src/jobs/define-job.js';
import { payloadCheck } from '../../src/jobs/job-payload.js';
import { toTask } from '../../src/jobs/job-task.js';
import { startIsolationHarness, silent, type IsolationHarness } from '../support/isolation-harness.js';
import { TEST_REGISTRY, type TestTables } from '../support/modules.js';
import { TEST_ROLES } from '../support/roles.js';

let harness: IsolationHarness;
let deps: JobDependencies;

beforeAll(async () => {
  harness = await startIsolationHarness(2);
  const db = new Database<TestTables>({ modules: TEST_REGISTRY, pool: harness.pool, roles: TEST_ROLES, logger: silent });
  // The handler below reads only db and logger.
  deps = { db, logger: silent } as unknown as JobDependencies;
});

afterAll(async () => {
  await harness.close();
});

/** A service job that reads every tenant three times over, each read its own db.service() use. */
function countingJob(reason: string) {
  return defineServiceJob({
    name: 'count-tenants-thrice',
    payload: Type.Object({}, { additionalProperties: false }),
    handler: async (_data, { db }) => {
      for (let i = 0; i < 3; i++) await db.service(reason, (tx) => tx.selectFrom('tenants').select('id').execute());
    },
  });
}

async function runJob(reason: string, payload: unknown, id: string): Promise<void> {
  const job = countingJob(reason);
  const task = toTask(job, payloadCheck(job), deps);
  await task(payload, { job: { id, attempts: 1 } } as unknown as JobHelpers);
}

async function recorded(reason: string): Promise<Array<{ reason: string; actor: string; request_id: string }>> {
  const { rows } = await harness.database.admin.query(
    'SELECT reason, actor, request_id FROM service_role_audit WHERE reason LIKE $1 ORDER BY created_at',
    [`${reason}%`],
  );
  return rows;
}

describe('a scheduled service job', () => {
  it('has its service-role uses recorded once an hour per reason, across its runs', async () => {
    // As graphile-worker's crontab queues it: no envelope, a _cron field.
    await runJob('test: scheduled', { _cron: { ts: '2026-12-03T17:00:00.000Z', backfilled: false } }, '101');
    await runJob('test: scheduled', { _cron: { ts: '2026-12-03T17:01:00.000Z', backfilled: false } }, '102');
    expect(await recorded('test: scheduled')).toEqual([
      { reason: 'test: scheduled (recurring: recorded once an hour)', actor: 'system', request_id: 'job:101' },
    ]);
  });

  it('is recorded on every use when a request queued it', async () => {
    await runJob('test: queued', { requestId: 'req-1', data: {} }, '201');
    expect(await recorded('test: queued')).toHaveLength(3);
  });
});
