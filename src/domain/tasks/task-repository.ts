// Task rows of the current tenant. The tenant filter is not written here: the scoped
// transaction (query layer and RLS) supplies it. Soft-deleted tasks are never returned.

import type { Selectable } from 'kysely';
import type { TaskTx } from './task-tables.js';
import type { TasksTable, TaskStatus } from './task-tables.js';
import { keysetPageQuery, toPage, type Page, type PageRequest } from '../../db/keyset-page.js';

/** Every column a client may see; tenant_id and deleted_at are not among them. */
const COLUMNS = ['id', 'project_id', 'title', 'description', 'status', 'assignee_id', 'created_by', 'created_at', 'updated_at'] as const;

export type TaskRow = Pick<Selectable<TasksTable>, (typeof COLUMNS)[number]>;

export interface TaskFilter {
  readonly projectId?: string | undefined;
  readonly status?: TaskStatus | undefined;
  readonly assigneeId?: string | undefined;
  readonly text?: string | undefined;
}

export interface TaskChanges {
  readonly title?: string | undefined;
  readonly description?: string | undefined;
  readonly status?: TaskStatus | undefined;
  readonly projectId?: string | undefined;
  /** null unassigns; undefined leaves the assignee as it is. */
  readonly assigneeId?: string | null | undefined;
}

/** A LIKE pattern that matches the text literally: its own %, _ and \ lose their meaning. */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export function findTask(tx: TaskTx, id: string): Promise<TaskRow | undefined> {
  return tx.selectFrom('tasks').select(COLUMNS).where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
}

/** The list query, unexecuted, so a caller can send it in a single round trip. */
export function listTasksQuery(tx: TaskTx, filter: TaskFilter, page: PageRequest) {
  let query = tx
    .selectFrom('tasks')
    .select(COLUMNS)
    .where('deleted_at', 'is', null);
  if (filter.projectId) query = query.where('project_id', '=', filter.projectId);
  if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.assigneeId) query = query.where('assignee_id', '=', filter.assigneeId);
  if (filter.text) {
    const pattern = containsPattern(filter.text);
    query = query.where((eb) => eb.or([eb('title', 'ilike', pattern), eb('description', 'ilike', pattern)]));
  }
  return keysetPageQuery(query, { at: 'created_at', id: 'id' }, page);
}

export async function listTasks(tx: TaskTx, filter: TaskFilter, page: PageRequest): Promise<Page<TaskRow>> {
  return toPage(await listTasksQuery(tx, filter, page).execute(), page.limit);
}

export function insertTask(
  tx: TaskTx,
  task: {
    id: string;
    projectId: string;
    title: string;
    description: string;
    status: TaskStatus;
    assigneeId: string | null;
    createdBy: string | null;
  },
): Promise<TaskRow> {
  return tx
    .insertInto('tasks')
    .values({
      id: task.id,
      project_id: task.projectId,
      title: task.title,
      description: task.description,
      status: task.status,
      assignee_id: task.assigneeId,
      created_by: task.createdBy,
    })
    .returning(COLUMNS)
    .executeTakeFirstOrThrow();
}

export function updateTask(tx: TaskTx, id: string, changes: TaskChanges, now: Date): Promise<TaskRow | undefined> {
  return tx
    .updateTable('tasks')
    .set({
      ...(changes.title !== undefined ? { title: changes.title } : {}),
      ...(changes.description !== undefined ? { description: changes.description } : {}),
      ...(changes.status !== undefined ? { status: changes.status } : {}),
      ...(changes.projectId !== undefined ? { project_id: changes.projectId } : {}),
      ...(changes.assigneeId !== undefined ? { assignee_id: changes.assigneeId } : {}),
      updated_at: now,
    })
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .returning(COLUMNS)
    .executeTakeFirst();
}

/** True when a live task was stamped deleted. */
export async function softDeleteTask(tx: TaskTx, id: string, now: Date): Promise<boolean> {
  const row = await tx
    .updateTable('tasks')
    .set({ deleted_at: now, updated_at: now })
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

export async function softDeleteTasksOfProject(tx: TaskTx, projectId: string, now: Date): Promise<void> {
  await tx
    .updateTable('tasks')
    .set({ deleted_at: now, updated_at: now })
    .where('project_id', '=', projectId)
    .where('deleted_at', 'is', null)
    .execute();
}
