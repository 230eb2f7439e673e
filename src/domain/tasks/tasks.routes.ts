// /v1/tasks: viewers read and search; members create, edit and delete. A task points only
// at a project and an assignee of its own tenant.

import { Type, type Static } from 'typebox';
import { access, actorOf } from '../../http/access.js';
import { IdParams, problems } from '../../http/common-schemas.js';
import { AppError } from '../../http/problems.js';
import type { ModuleRoutes } from '../../modules/module.js';
import type { TaskManagement } from './manage-tasks.js';
import { decodeCursor, encodeCursor } from '../../http/page-cursor.js';
import { NextCursor } from '../../http/page.schemas.js';
import { findTask, type TaskRow } from './task-repository.js';
import { CreateTaskBody, ListTasksQuery, TaskView, UpdateTaskBody } from './tasks.schemas.js';
import type { TaskDatabase } from './task-tables.js';

export function taskView(task: TaskRow): Static<typeof TaskView> {
  return {
    id: task.id,
    projectId: task.project_id,
    title: task.title,
    description: task.description,
    status: task.status,
    assigneeId: task.assignee_id,
    createdBy: task.created_by,
    createdAt: task.created_at.toISOString(),
    updatedAt: task.updated_at.toISOString(),
  };
}

export interface TaskRouteDeps {
  readonly db: TaskDatabase;
  readonly tasks: TaskManagement;
}

export const taskRoutes: ModuleRoutes<TaskRouteDeps> = async (app, { db, tasks }) => {
  const tags = ['tasks'];
  const security = [{ bearer: [] }];

  app.get(
    '/v1/tasks',
    {
      config: { access: access.tenant('viewer') },
      schema: {
        tags,
        summary: 'Tasks filtered by project, status, assignee or text, a page at a time (viewer or higher)',
        description:
          'Sorted by creation time (newest first unless sort=asc). Pass nextCursor back as cursor, with the same ' +
          'filters and sort, for the next page. A projectId that names no project of this tenant is a 404.',
        security,
        querystring: ListTasksQuery,
        response: { 200: Type.Object({ data: Type.Array(TaskView), nextCursor: NextCursor }), ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { limit, cursor, sort = 'desc', projectId, status, assigneeId, q } = request.query;
      const after = decodeCursor(cursor, sort);
      const page = await tasks.list(actorOf(request), { projectId, status, assigneeId, text: q }, { limit: limit ?? 50, sort, after });
      return { data: page.rows.map(taskView), nextCursor: page.next ? encodeCursor(page.next, sort) : null };
    },
  );

  app.post(
    '/v1/tasks',
    {
      config: { access: access.tenant('member') },
      schema: {
        tags,
        summary: 'Create a task in a project of this tenant (member or higher)',
        security,
        body: CreateTaskBody,
        response: { 201: TaskView, ...problems(400, 401, 403, 404) },
      },
    },
    async (request, reply) => reply.code(201).send(taskView(await tasks.create(actorOf(request), request.body))),
  );

  app.get(
    '/v1/tasks/:id',
    {
      config: { access: access.tenant('viewer') },
      schema: {
        tags,
        summary: 'One task (viewer or higher)',
        security,
        params: IdParams,
        response: { 200: TaskView, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const task = await db.tenant((tx) => findTask(tx, request.params.id));
      if (!task) throw new AppError('not-found', 'no task with this id');
      return taskView(task);
    },
  );

  app.patch(
    '/v1/tasks/:id',
    {
      config: { access: access.tenant('member') },
      schema: {
        tags,
        summary: 'Change, move, assign or unassign a task (member or higher)',
        security,
        params: IdParams,
        body: UpdateTaskBody,
        response: { 200: TaskView, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => taskView(await tasks.update(actorOf(request), request.params.id, request.body)),
  );

  app.delete(
    '/v1/tasks/:id',
    {
      config: { access: access.tenant('member') },
      schema: {
        tags,
        summary: 'Delete a task (member or higher)',
        security,
        params: IdParams,
        response: { 204: Type.Null(), ...problems(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await tasks.remove(actorOf(request), request.params.id);
      return reply.code(204).send(null);
    },
  );
};
