// A process killed (SIGKILL) after its unit of work enqueued a tenant job and committed, before
// the job reached the queue or while it was being handed over, still gets the job run: once.

import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { JOB_ENQUEUE_TOPIC } from '../../src/jobs/job-outbox.js';
import { killAfter } from '../support/kill-after.js';
import { eventually } from '../outbox/support/outbox-fixture.js';
import { startJobsFixture, type JobsFixture } from './support/jobs-fixture.js';
import { runsOf } from './support/test-jobs.js';

const CHILD = fileURLToPath(new URL('./support/enqueue-then-crash.ts', import.meta.url));

let fixture: JobsFixture;

beforeAll(async () => {
  fixture = await startJobsFixture();
});

afterEach(async () => {
  await fixture.jobs.stop();
});

afterAll(async () => {
  await fixture.close();
});

/** Runs the child until it prints `line`, then kills it with SIGKILL. */
function crashAfter(tenantId: string, label: string, mode: 'commit' | 'relay', line: string): Promise<void> {
  return killAfter(CHILD, [fixture.outbox.database.url, tenantId, label, mode], line);
}

/**
 * Delivers the outbox with a fresh relay until it is empty. The dead process's transaction (and
 * its tenant lock) goes when PostgreSQL notices the closed socket; until then the tenant is skipped.
 */
async function deliverWithFreshRelay(): Promise<void> {
  const relay = fixture.relay();
  await eventually(async () => {
    await relay.drain();
    return (await fixture.outbox.rows()).length === 0;
  }, 30_000);
}

/** Starts the worker and waits until the queue is empty; the job ran once, or the test fails. */
async function runQueue(label: string): Promise<void> {
  const finished = fixture.finished(label);
  await fixture.jobs.start({ concurrency: 2, pollIntervalMs: 100 });
  await finished;
  await eventually(async () => (await fixture.queued()).length === 0);
  expect(runsOf(label)).toHaveLength(1);
}

describe('a tenant job whose process died after its unit of work committed', () => {
  it('is added by the next relay and run once when the process died before any relay ran', async () => {
    const tenantId = await fixture.outbox.newTenant();
    await crashAfter(tenantId, 'died-after-commit', 'commit', 'committed');
    expect(await fixture.outbox.rows()).toMatchObject([{ tenant_id: tenantId, topic: JOB_ENQUEUE_TOPIC, attempts: 0 }]);
    expect(await fixture.queued()).toEqual([]);

    await deliverWithFreshRelay();
    expect(await fixture.queued()).toMatchObject([{ task: 'note-run', payload: { tenantId, data: { label: 'died-after-commit' } } }]);
    await runQueue('died-after-commit');
  });

  it('is run once when the process died after adding the job, before its message was deleted', async () => {
    const tenantId = await fixture.outbox.newTenant();
    await crashAfter(tenantId, 'died-while-relaying', 'relay', 'added');
    const added = await fixture.queued();
    expect(added).toMatchObject([{ task: 'note-run', payload: { tenantId, data: { label: 'died-while-relaying' } } }]);
    expect(await fixture.outbox.rows()).toMatchObject([{ tenant_id: tenantId, topic: JOB_ENQUEUE_TOPIC }]);

    // The message is delivered again, and finds the job its first delivery added.
    await deliverWithFreshRelay();
    expect(await fixture.queued()).toEqual(added);
    await runQueue('died-while-relaying');
  });
});
