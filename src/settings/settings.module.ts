// Tenant settings and branding (branding is gated by a plan flag).

import { flagsModule } from '../flags/flags.module.js';
import { defineModule } from '../modules/module.js';
import { settingsRoutes, type SettingsRouteDeps } from './settings.routes.js';
import { TenantSettings } from './tenant-settings.js';

export const settingsModule = defineModule({
  name: 'settings',
  dependsOn: [flagsModule],
  compose: ({ db, platformCatalog, tenantProfiles, invalidation, clock, requireFeature, config }): SettingsRouteDeps => ({
    db,
    settings: new TenantSettings(db, platformCatalog, tenantProfiles, invalidation, clock),
    requireFeature,
    baseDomain: config.baseDomain?.toLowerCase(),
  }),
  routes: settingsRoutes,
});
