// Tenant settings and branding (branding is gated by a plan flag).

import { flagsModule } from '../flags/flags.module.js';
import { defineModule } from '../modules/module.js';
import { settingsRoutes } from './settings.routes.js';

export const settingsModule = defineModule({
  name: 'settings',
  dependsOn: [flagsModule],
  routes: settingsRoutes,
});
