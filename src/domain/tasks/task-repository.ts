// Task rows of the current tenant. The tenant filter is not written here: the scoped
// transaction (query layer and RLS) supplies it. Soft-deleted tasks are never returned.

import type { Selectable } from 'kysely';
import type { TaskTx } from './task-tables.js';
import type { TasksTable, TaskStatus } from './task-tables.js';
import { boundedPageQuery, toPage, type Page, type PageRequest, type SortOrder } from '../../db/keyset-page.js';
import { statementTemplate, type TemplateParams } from '../../db/statement-template.js';

/** Every column a client may see; tenant_id and deleted_at are not among them. */
const COLUMNS = ['id', 'project_id', 'title', 'description', 'status', 'assignee_id', 'created_by', 'created_at', 'updated_at'] as const;

/** The list's order, and where its pages stop: both are among COLUMNS, so no row carries them twice. */
const PAGE_KEYS = { at: 'created_at', id: 'id' } as const;

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

/** What decides the list's SQL text: which filters a request sets, its sort, whether it continues a page. */
interface ListShape {
  readonly project: boolean;
  readonly status: boolean;
  readonly assignee: boolean;
  readonly text: boolean;
  readonly sort: SortOrder;
  readonly after: boolean;
}

interface ListValues {
  readonly projectId?: string | undefined;
  readonly status?: TaskStatus | undefined;
  readonly assigneeId?: string | undefined;
  readonly pattern?: string | undefined;
  readonly fetch: number;
  readonly afterAt?: string | undefined;
  readonly afterId?: string | undefined;
}

/** The list: compiled once per shape on the hot path (db.tenantStatement), built in a unit otherwise. */
const listTemplate = statementTemplate((tx: TaskTx, shape: ListShape, p: TemplateParams<ListValues>) => {
  let query = tx.selectFrom('tasks').select(COLUMNS).where('deleted_at', 'is', null);
  if (shape.project) query = query.where('project_id', '=', p.projectId);
  if (shape.status) query = query.where('status', '=', p.status);
  if (shape.assignee) query = query.where('assignee_id', '=', p.assigneeId);
  if (shape.text) query = query.where((eb) => eb.or([eb('title', 'ilike', p.pattern), eb('description', 'ilike', p.pattern)]));
  const after = shape.after ? { at: p.afterAt, id: p.afterId } : undefined;
  return boundedPageQuery(query, PAGE_KEYS, { sort: shape.sort, fetch: p.fetch, after });
});

function listShape(filter: TaskFilter, page: PageRequest): ListShape {
  return {
    project: Boolean(filter.projectId),
    status: Boolean(filter.status),
    assignee: Boolean(filter.assigneeId),
    text: Boolean(filter.text),
    sort: page.sort,
    after: page.after !== undefined,
  };
}

function listValues(filter: TaskFilter, page: PageRequest): ListValues {
  return {
    projectId: filter.projectId || undefined,
    status: filter.status || undefined,
    assigneeId: filter.assigneeId || undefined,
    pattern: filter.text ? containsPattern(filter.text) : undefined,
    fetch: page.limit + 1,
    afterAt: page.after?.at,
    afterId: page.after?.id,
  };
}

/** The list as one call of its template, for db.tenantStatement() to send in a single round trip. */
export function listTasksStatement(filter: TaskFilter, page: PageRequest) {
  return listTemplate.with(listShape(filter, page), listValues(filter, page));
}

/** The list query inside a unit of work, unexecuted. */
export function listTasksQuery(tx: TaskTx, filter: TaskFilter, page: PageRequest) {
  return listTemplate.build(tx, listShape(filter, page), listValues(filter, page));
}

/** The rows a list statement fetched (one more than the limit), as the page and where it stopped. */
export function taskPage(rows: TaskRow[], page: PageRequest): Page<TaskRow> {
  return toPage(rows, page.limit, PAGE_KEYS);
}

export async function listTasks(tx: TaskTx, filter: TaskFilter, page: PageRequest): Promise<Page<TaskRow>> {
  return taskPage(await listTasksQuery(tx, filter, page).execute(), page);
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
