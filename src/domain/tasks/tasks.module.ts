// The sample task domain as a module, declared exactly as an adopter declares one: its own
// migrations folder and row types, its tenant tables, its routes.

import { fileURLToPath } from 'node:url';
import { auditModule } from '../../audit/audit.module.js';
import { meteringModule } from '../../metering/metering.module.js';
import { defineModule } from '../../modules/module.js';
import { tenancyModule } from '../../tenancy/tenancy.module.js';
import { tasksRoutes } from './task-domain.routes.js';

export const tasksModule = defineModule({
  name: 'tasks',
  dependsOn: [tenancyModule, meteringModule, auditModule],
  migrations: fileURLToPath(new URL('./migrations', import.meta.url)),
  tenantTables: [{ name: 'projects' }, { name: 'project_members' }, { name: 'tasks' }],
  routes: tasksRoutes,
});
