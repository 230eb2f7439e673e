// The sample task domain as one plugin: projects, their member lists and tasks. app.ts
// registers only this, so the domain's routes can change without touching the app.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Services } from '../../services.js';
import { projectMembersRoutes } from './project-members.routes.js';
import { projectsRoutes } from './projects.routes.js';
import { taskRoutes } from './tasks.routes.js';

export const tasksRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, options) => {
  await app.register(projectsRoutes, options);
  await app.register(projectMembersRoutes, options);
  await app.register(taskRoutes, options);
};
