// The job worker outlives a database outage: when graphile-worker's runner stops because the
// database went away, the supervisor starts a new one (with back-off) until stopped.

import { EventEmitter } from 'node:events';
import type { Runner, WorkerEvents } from 'graphile-worker';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { WorkerSupervisor } from '../../src/jobs/worker-supervisor.js';

/** A stand-in for graphile-worker's runner: the test decides when it fails. */
function runner(): Runner & { fail(error: Error): void; stopped: boolean } {
  let fail!: (error: Error) => void;
  const promise = new Promise<void>((_resolve, reject) => (fail = reject));
  const handle = {
    stopped: false,
    promise,
    events: new EventEmitter() as WorkerEvents,
    addJob: (() => Promise.reject(new Error('not used'))) as unknown as Runner['addJob'],
    fail,
    async stop() {
      handle.stopped = true;
    },
  };
  return handle;
}

const databaseGone = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

describe('the job worker supervisor', () => {
  it('starts a new runner after one stops for lack of a database, and stops that one on stop()', async () => {
    const started: ReturnType<typeof runner>[] = [];
    let refusals = 1; // the first restart finds the database still down
    const supervisor = new WorkerSupervisor(async () => {
      if (started.length === 1 && refusals-- > 0) throw databaseGone();
      const next = runner();
      started.push(next);
      return next;
    }, pino({ level: 'silent' }));
    await supervisor.start();
    expect(started).toHaveLength(1);
    started[0]!.fail(databaseGone());
    // 1 s back-off, one refused attempt, then 2 s more.
    await expect.poll(() => started.length, { timeout: 6_000, interval: 100 }).toBe(2);
    await supervisor.stop();
    expect(started[1]!.stopped).toBe(true);
  });

  it('does not restart once stopped', async () => {
    const started: ReturnType<typeof runner>[] = [];
    const supervisor = new WorkerSupervisor(async () => {
      const next = runner();
      started.push(next);
      return next;
    }, pino({ level: 'silent' }));
    await supervisor.start();
    await supervisor.stop();
    started[0]!.fail(databaseGone());
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(started).toHaveLength(1);
  });
});
