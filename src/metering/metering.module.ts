// Metering: usage events, their rollup, counters against plan limits and usage reports.

import { defineModule, routePlugins } from '../modules/module.js';
import { plansModule } from '../plans/plans.module.js';
import { tenancyModule } from '../tenancy/tenancy.module.js';
import { rollUpUsageJob, rollUpUsageSchedule } from './roll-up-usage-job.js';
import { usageMetricsRoutes, type UsageMetricsRouteDeps } from './usage-metrics.routes.js';
import { usageRoutes, type UsageRouteDeps } from './usage.routes.js';

interface MeteringModuleDeps extends UsageRouteDeps, UsageMetricsRouteDeps {}

export const meteringModule = defineModule({
  name: 'metering',
  dependsOn: [tenancyModule, plansModule],
  tenantTables: [
    // A unique_count value may be a person (an email, a user id): a stable pseudonym keeps the count.
    { name: 'usage_events', personal: { unique_value: 'pseudonymise', properties: 'null' } },
    { name: 'usage_rollups' },
    { name: 'usage_counters' },
    { name: 'usage_warnings' },
    { name: 'usage_rollup_queue', exported: false },
  ],
  jobs: [rollUpUsageJob],
  schedules: [rollUpUsageSchedule],
  compose: ({ db, clock, metering }): MeteringModuleDeps => ({
    db,
    clock,
    recorder: metering.recorder,
    reader: metering.reader,
    catalog: metering.catalog,
  }),
  routes: routePlugins<MeteringModuleDeps>(usageRoutes, usageMetricsRoutes),
});
