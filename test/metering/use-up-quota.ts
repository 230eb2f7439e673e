// Sets how much of a per-period quota a tenant has used in its open billing period, straight
// in its counter row: reaching a limit of thousands takes one statement, not thousands of requests.

import { billingPeriod } from '../../src/metering/billing-period.js';
import type { TestApp } from '../support/test-app.js';

export async function useUpQuota(testApp: TestApp, tenantId: string, metric: string, used: number): Promise<void> {
  const { rows } = await testApp.database.admin.query('SELECT created_at FROM tenants WHERE id = $1', [tenantId]);
  const period = billingPeriod(rows[0].created_at, testApp.clock.now());
  await testApp.database.admin.query(
    `INSERT INTO usage_counters (tenant_id, metric, period_start, used) VALUES ($1, $2, $3, $4)
     ON CONFLICT (tenant_id, metric, period_start) DO UPDATE SET used = excluded.used`,
    [tenantId, metric, period.start, used],
  );
}
