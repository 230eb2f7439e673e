// Rolls up until every committed event is in: a run only takes events below the oldest
// transaction still running in the cluster, and parallel test files run transactions too.

import { rollUpUsage } from '../../src/metering/roll-up-usage.js';
import type { TestApp } from '../support/test-app.js';

export async function rollUpAll(testApp: TestApp): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    await rollUpUsage(testApp.services.db);
    const { rows } = await testApp.database.admin.query(
      'SELECT count(*)::int AS n FROM usage_events WHERE ingest_xid >= (SELECT watermark FROM usage_rollup_state)',
    );
    if (rows[0].n === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('events stayed above the rollup watermark for 5 seconds');
}
