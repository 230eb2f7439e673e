// A meter event's identifier: derived from the tenant, the metric and the period's start, so a
// re-run of the period-end job (or another instance running it at once) sends the same one,
// which the provider counts once. Hashed: Stripe allows 100 characters, and a tenant id with a
// 64-character metric name and a date would not fit.

import { createHash } from 'node:crypto';

export function meterEventIdentifier(tenantId: string, metric: string, periodStart: Date): string {
  const digest = createHash('sha256').update(`${tenantId}\n${metric}\n${periodStart.toISOString()}`).digest('base64url');
  return `tnty_${digest}`;
}
