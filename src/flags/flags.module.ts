// Feature flags: plan defaults, tenant overrides and their evaluation.

import { defineModule, routePlugins } from '../modules/module.js';
import { plansModule } from '../plans/plans.module.js';
import { adminFlagsRoutes, type AdminFlagsRouteDeps } from './admin-flags.routes.js';
import { FlagAdministration } from './flag-administration.js';
import { flagsRoutes, type FlagsRouteDeps } from './flags.routes.js';
import { OverrideManagement } from './manage-overrides.js';

interface FlagsModuleDeps extends FlagsRouteDeps, AdminFlagsRouteDeps {}

export const flagsModule = defineModule({
  name: 'flags',
  dependsOn: [plansModule],
  tenantTables: [{ name: 'flag_overrides', identifies: { created_by: 'actor' }, personal: { created_by: 'pseudonymise' } }],
  compose: ({ db, clock, invalidation, platformCatalog, flags }): FlagsModuleDeps => ({
    platformCatalog,
    flags,
    overrides: new OverrideManagement(db, platformCatalog, invalidation, clock),
    administration: new FlagAdministration(db, invalidation, clock),
  }),
  routes: routePlugins<FlagsModuleDeps>(flagsRoutes, adminFlagsRoutes),
});
