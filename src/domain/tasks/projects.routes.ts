// /v1/projects: viewers read; members create and edit; deleting (which also deletes the
// project's tasks) needs an admin.

import { Type, type Static } from 'typebox';
import { access, actorOf } from '../../http/access.js';
import { IdParams, problems } from '../../http/common-schemas.js';
import { AppError } from '../../http/problems.js';
import type { ModuleRoutes } from '../../modules/module.js';
import type { ProjectManagement } from './manage-projects.js';
import { decodeCursor, encodeCursor } from '../../http/page-cursor.js';
import { NextCursor } from '../../http/page.schemas.js';
import { findProject, listProjects, type ProjectRow } from './project-repository.js';
import { CreateProjectBody, ListProjectsQuery, ProjectView, UpdateProjectBody } from './projects.schemas.js';
import type { TaskDatabase } from './task-tables.js';

function projectView(project: ProjectRow): Static<typeof ProjectView> {
  return {
    id: project.id,
    name: project.name,
    description: project.description,
    createdBy: project.created_by,
    createdAt: project.created_at.toISOString(),
    updatedAt: project.updated_at.toISOString(),
  };
}

export interface ProjectsRouteDeps {
  readonly db: TaskDatabase;
  readonly projects: ProjectManagement;
}

export const projectsRoutes: ModuleRoutes<ProjectsRouteDeps> = async (app, { db, projects }) => {
  const tags = ['projects'];
  const security = [{ bearer: [] }];

  app.get(
    '/v1/projects',
    {
      config: { access: access.tenant('viewer') },
      schema: {
        tags,
        summary: "The tenant's projects, newest first, a page at a time (viewer or higher)",
        security,
        querystring: ListProjectsQuery,
        response: { 200: Type.Object({ data: Type.Array(ProjectView), nextCursor: NextCursor }), ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const sort = request.query.sort ?? 'desc';
      const after = decodeCursor(request.query.cursor, sort);
      const page = await db.tenant((tx) => listProjects(tx, { limit: request.query.limit ?? 50, sort, after }));
      return { data: page.rows.map(projectView), nextCursor: page.next ? encodeCursor(page.next, sort) : null };
    },
  );

  app.post(
    '/v1/projects',
    {
      config: { access: access.tenant('member') },
      schema: {
        tags,
        summary: 'Create a project; its name is unique in the tenant (member or higher)',
        security,
        body: CreateProjectBody,
        response: { 201: ProjectView, ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => reply.code(201).send(projectView(await projects.create(actorOf(request), request.body))),
  );

  app.get(
    '/v1/projects/:id',
    {
      config: { access: access.tenant('viewer') },
      schema: {
        tags,
        summary: 'One project (viewer or higher)',
        security,
        params: IdParams,
        response: { 200: ProjectView, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const project = await db.tenant((tx) => findProject(tx, request.params.id));
      if (!project) throw new AppError('not-found', 'no project with this id');
      return projectView(project);
    },
  );

  app.patch(
    '/v1/projects/:id',
    {
      config: { access: access.tenant('member') },
      schema: {
        tags,
        summary: "Rename a project or change its description (member or higher)",
        security,
        params: IdParams,
        body: UpdateProjectBody,
        response: { 200: ProjectView, ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request) => projectView(await projects.update(actorOf(request), request.params.id, request.body)),
  );

  app.delete(
    '/v1/projects/:id',
    {
      config: { access: access.tenant('admin') },
      schema: {
        tags,
        summary: 'Delete a project together with its tasks and member list, in one transaction (admin or higher)',
        security,
        params: IdParams,
        response: { 204: Type.Null(), ...problems(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await projects.remove(actorOf(request), request.params.id);
      return reply.code(204).send(null);
    },
  );
};
