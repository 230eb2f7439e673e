// Rolls up until the queue of events not rolled up yet is empty: parallel runs (the job in
// the worker) make a run step aside, and a batch may leave the rest for the next run. Gives
// up after a deadline rather than a number of tries, which a busy machine makes slower.

import { rollUpUsage } from '../../src/metering/roll-up-usage.js';
import type { TestApp } from '../support/test-app.js';

const DEADLINE_MS = 30_000;

export async function rollUpAll(testApp: TestApp): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    await rollUpUsage(testApp.services.db);
    const { rows } = await testApp.database.admin.query('SELECT count(*)::int AS n FROM usage_rollup_queue');
    if (rows[0].n === 0) return;
    if (Date.now() > deadline) throw new Error(`${rows[0].n} events stayed queued for rollup for ${DEADLINE_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
