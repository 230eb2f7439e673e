// The sample task domain as a module, declared exactly as an adopter declares one: its own
// migrations folder and row types, its tenant tables, its composition root and its routes.

import { fileURLToPath } from 'node:url';
import { auditModule } from '../../audit/audit.module.js';
import { meteringModule } from '../../metering/metering.module.js';
import { defineModule, routePlugins } from '../../modules/module.js';
import { tenancyModule } from '../../tenancy/tenancy.module.js';
import { ProjectMemberManagement } from './manage-project-members.js';
import { ProjectManagement } from './manage-projects.js';
import { TaskManagement } from './manage-tasks.js';
import { projectMembersRoutes } from './project-members.routes.js';
import { projectsRoutes, type ProjectsRouteDeps } from './projects.routes.js';
import type { TaskTables } from './task-tables.js';
import { taskRoutes, type TaskRouteDeps } from './tasks.routes.js';

interface TasksModuleDeps extends ProjectsRouteDeps, TaskRouteDeps {
  readonly projectMembers: ProjectMemberManagement;
}

export const tasksModule = defineModule({
  name: 'tasks',
  dependsOn: [tenancyModule, meteringModule, auditModule],
  migrations: fileURLToPath(new URL('./migrations', import.meta.url)),
  tenantTables: [
    { name: 'projects', identifies: { created_by: 'user_id' }, personal: { created_by: 'null' } },
    { name: 'project_members', identifies: { user_id: 'user_id' }, personal: { user_id: 'delete' } },
    {
      name: 'tasks',
      identifies: { created_by: 'user_id', assignee_id: 'user_id' },
      personal: { created_by: 'null', assignee_id: 'null' },
    },
  ],
  realtimeChannels: [{ name: 'tasks', minRole: 'viewer' }],
  compose: ({ db: platformDb, clock, metering }): TasksModuleDeps => {
    const db = platformDb.withTables<TaskTables>();
    return {
      db,
      projects: new ProjectManagement(db, clock),
      projectMembers: new ProjectMemberManagement(db, clock),
      tasks: new TaskManagement(db, clock, metering.actions),
    };
  },
  routes: routePlugins<TasksModuleDeps>(projectsRoutes, projectMembersRoutes, taskRoutes),
});
