// The platform module: the schema history every other built-in module stands on (tenants,
// users, sessions and the built-in modules' tables, migrations 0001-0011 written before
// modules had folders of their own), the outbox, health, metrics and the operator routes.

import { MIGRATIONS_DIR } from '../db/migrate.js';
import type { ReadinessProbe } from '../db/readiness-probe.js';
import { healthRoutes } from '../http/health.routes.js';
import { metricsRoutes } from '../http/metrics.routes.js';
import { defineModule, routePlugins } from '../modules/module.js';
import { adminRoutes, type AdminRouteDeps } from './admin.routes.js';

interface PlatformModuleDeps extends AdminRouteDeps {
  readonly readiness: ReadinessProbe;
}

export const platformModule = defineModule({
  name: 'platform',
  migrations: MIGRATIONS_DIR,
  // Effects on their way out, not data a tenant would want back.
  tenantTables: [{ name: 'outbox', exported: false }],
  compose: ({ db, readiness, modules }): PlatformModuleDeps => ({ db, readiness, tenantTables: modules.tenantTables }),
  routes: routePlugins<PlatformModuleDeps>(healthRoutes, metricsRoutes, adminRoutes),
});
