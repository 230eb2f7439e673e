// Rolls up until the queue of events not rolled up yet is empty: parallel runs (the job in
// the worker) make a run step aside, and a batch may leave the rest for the next run.

import { rollUpUsage } from '../../src/metering/roll-up-usage.js';
import type { TestApp } from '../support/test-app.js';

export async function rollUpAll(testApp: TestApp): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    await rollUpUsage(testApp.services.db);
    const { rows } = await testApp.database.admin.query('SELECT count(*)::int AS n FROM usage_rollup_queue');
    if (rows[0].n === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('events stayed queued for rollup for 5 seconds');
}
