// Usage warnings (80 % and 100 % of a plan limit) as tenant events. Quotas calls this in the
// transaction that records the warning, so the event exists exactly when the warning does;
// the event key repeats the warning's own uniqueness (tenant, metric, period, threshold).

import type { Tx } from '../db/database.js';
import { NO_PERIOD_START } from '../metering/billing-period.js';
import type { UsageWarning } from '../metering/quotas.js';
import { publishTenantEvent } from './publish-tenant-event.js';

export async function announceUsageWarning(tx: Tx, warning: UsageWarning): Promise<void> {
  const resets = warning.periodStart.getTime() !== NO_PERIOD_START.getTime();
  const periodStart = resets ? warning.periodStart.toISOString() : null;
  await publishTenantEvent(tx, warning.tenantId, {
    type: 'usage.warning',
    data: { metric: warning.metric, threshold: warning.threshold, used: warning.used, limit: warning.limit, periodStart },
    key: `usage.warning:${warning.metric}:${periodStart ?? 'level'}:${warning.threshold}`,
  });
}
