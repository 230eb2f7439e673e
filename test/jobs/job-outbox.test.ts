// A tenant job is enqueued in its tenant's unit of work: it exists if and only if the unit
// commits; the relay adds it to the queue under a key of its outbox message, so a message
// delivered again adds no second job; the job runs once, as the tenant of the outbox row.

import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { JOB_ENQUEUE_TOPIC } from '../../src/jobs/job-outbox.js';
import type { OutboxMessage } from '../../src/outbox/outbox-message.js';
import type { OutboxRelay } from '../../src/outbox/outbox-relay.js';
import { eventually } from '../outbox/support/outbox-fixture.js';
import { startJobsFixture, type JobsFixture } from './support/jobs-fixture.js';
import { holdRunsOf, noteRun, runsOf } from './support/test-jobs.js';

let fixture: JobsFixture;
let relay: OutboxRelay;
const projectId = randomUUID();

beforeAll(async () => {
  fixture = await startJobsFixture();
  relay = fixture.relay();
});

afterEach(async () => {
  await fixture.jobs.stop();
  await fixture.outbox.database.admin.query('DELETE FROM outbox');
  await fixture.outbox.database.admin.query('DELETE FROM graphile_worker._private_jobs');
});

afterAll(async () => {
  await fixture.close();
});

/** The outbox rows as the relay hands them to a consumer. */
async function outboxMessages(): Promise<OutboxMessage[]> {
  const { rows } = await fixture.outbox.database.admin.query(
    'SELECT tenant_id AS "tenantId", id, topic, payload, attempts FROM outbox ORDER BY created_at, id',
  );
  return rows;
}

/** Waits until no job is left: a job is deleted from the queue a moment after its success is reported. */
function queueEmpty(): Promise<void> {
  return eventually(async () => (await fixture.queued()).length === 0);
}

function startWorker(): Promise<void> {
  return fixture.jobs.start({ concurrency: 2, pollIntervalMs: 100 });
}

describe('enqueueing a tenant job through the outbox', () => {
  it('enqueues nothing when the unit of work rolls back', async () => {
    const tenantId = await fixture.outbox.newTenant();
    const unit = fixture.inTenant(tenantId, async (tx) => {
      await fixture.jobs.enqueue(tx, tenantId, noteRun, { label: 'rolled-back', projectId });
      throw new Error('the change failed');
    });
    await expect(unit).rejects.toThrow('the change failed');
    expect(await fixture.outbox.rows()).toEqual([]);
    expect(await relay.drain()).toBe(0);
    expect(await fixture.queued()).toEqual([]);
  });

  it('writes the job in the unit of work, adds it after commit under its message’s key, and runs it once as its tenant', async () => {
    const tenantId = await fixture.outbox.newTenant();
    await fixture.inTenant(tenantId, (tx) => fixture.jobs.enqueue(tx, tenantId, noteRun, { label: 'committed', projectId }));
    const [message] = await outboxMessages();
    expect(message).toMatchObject({
      tenantId,
      topic: JOB_ENQUEUE_TOPIC,
      payload: { job: 'note-run', data: { label: 'committed', projectId }, requestId: 'jobs-test' },
    });
    expect(await fixture.queued()).toEqual([]);

    expect(await relay.drain()).toBe(1);
    expect(await fixture.outbox.rows()).toEqual([]);
    expect(await fixture.queued()).toMatchObject([
      {
        key: `outbox:${tenantId}:${message!.id}`,
        task: 'note-run',
        payload: { tenantId, requestId: 'jobs-test', data: { label: 'committed', projectId } },
        locked: false,
      },
    ]);

    const finished = fixture.finished('committed');
    await startWorker();
    const job = await finished;
    await queueEmpty();
    expect(runsOf('committed')).toEqual([{ label: 'committed', jobId: String(job.id), tenantId, data: { label: 'committed', projectId } }]);
  });

  it('adds one job for a message delivered again while its job waits', async () => {
    const tenantId = await fixture.outbox.newTenant();
    await fixture.inTenant(tenantId, (tx) => fixture.jobs.enqueue(tx, tenantId, noteRun, { label: 'redelivered-waiting', projectId }));
    const [message] = await outboxMessages();
    // As if two relays in turn died after delivering, before deleting the row; then a third one.
    await fixture.jobs.outboxConsumer(message!);
    await fixture.jobs.outboxConsumer(message!);
    expect(await relay.drain()).toBe(1);
    expect(await fixture.queued()).toHaveLength(1);

    const finished = fixture.finished('redelivered-waiting');
    await startWorker();
    await finished;
    await queueEmpty();
    expect(runsOf('redelivered-waiting')).toHaveLength(1);
  });

  it('adds no second job for a message delivered again while its job runs', async () => {
    const tenantId = await fixture.outbox.newTenant();
    const release = holdRunsOf('redelivered-running');
    await fixture.inTenant(tenantId, (tx) => fixture.jobs.enqueue(tx, tenantId, noteRun, { label: 'redelivered-running', projectId }));
    const [message] = await outboxMessages();
    expect(await relay.drain()).toBe(1);
    const finished = fixture.finished('redelivered-running');
    await startWorker();
    await eventually(() => runsOf('redelivered-running').length === 1);

    try {
      await fixture.jobs.outboxConsumer(message!);
      expect(await fixture.queued()).toMatchObject([{ key: `outbox:${tenantId}:${message!.id}`, locked: true }]);
    } finally {
      release();
    }
    await finished;
    await queueEmpty();
    expect(runsOf('redelivered-running')).toHaveLength(1);
  });

  it('carries the run time and the attempts to the queue', async () => {
    const tenantId = await fixture.outbox.newTenant();
    const runAt = new Date(Date.now() + 3_600_000);
    await fixture.inTenant(tenantId, (tx) =>
      fixture.jobs.enqueue(tx, tenantId, noteRun, { label: 'later', projectId }, { runAt, maxAttempts: 3 }),
    );
    expect(await relay.drain()).toBe(1);
    expect(await fixture.queued()).toMatchObject([{ task: 'note-run', runAt, maxAttempts: 3 }]);
  });

  it('enqueues from a service unit of work for the tenant it names', async () => {
    const tenantId = await fixture.outbox.newTenant();
    await fixture.outbox.db.service('jobs test: one tenant job per tenant', (tx) =>
      fixture.jobs.enqueue(tx, tenantId, noteRun, { label: 'fanned-out', projectId }),
    );
    expect(await relay.drain()).toBe(1);
    expect(await fixture.queued()).toMatchObject([{ task: 'note-run', payload: { tenantId, data: { label: 'fanned-out' } } }]);
  });
});

describe('the relay’s job consumer', () => {
  it('gives the job the tenant of its outbox row, whatever the message says', async () => {
    const [tenantId, otherTenantId] = [await fixture.outbox.newTenant(), await fixture.outbox.newTenant()];
    await fixture.outbox.record(tenantId, JOB_ENQUEUE_TOPIC, { job: 'note-run', tenantId: otherTenantId, data: { label: 'claims-another', projectId } });
    expect(await relay.drain()).toBe(1);
    expect(await fixture.queued()).toMatchObject([{ payload: { tenantId } }]);
  });

  it('refuses a service job or an unknown job named by a message, keeping the message with the reason', async () => {
    const [first, second] = [await fixture.outbox.newTenant(), await fixture.outbox.newTenant()];
    await fixture.outbox.record(first, JOB_ENQUEUE_TOPIC, { job: 'service-note', data: { label: 'smuggled' } });
    await fixture.outbox.record(second, JOB_ENQUEUE_TOPIC, { job: 'from-a-newer-version', data: {} });
    const patient = fixture.outbox.relay({ [JOB_ENQUEUE_TOPIC]: fixture.jobs.outboxConsumer }, { baseBackoffMs: 3_600_000 });
    expect(await patient.drain()).toBe(0);
    const rows = await fixture.outbox.rows();
    expect(rows.find((row) => row.tenant_id === first)).toMatchObject({
      attempts: 1,
      last_error: '"service-note" is a service job: it spans tenants and is never enqueued by one',
    });
    expect(rows.find((row) => row.tenant_id === second)).toMatchObject({
      attempts: 1,
      last_error: 'no job named "from-a-newer-version" is registered with this job queue',
    });
    expect(await fixture.queued()).toEqual([]);
  });
});
