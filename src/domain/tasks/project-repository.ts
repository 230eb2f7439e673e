// Project rows of the current tenant. The tenant filter is not written here: the scoped
// transaction (query layer and RLS) supplies it. Soft-deleted projects are never returned.

import type { Selectable } from 'kysely';
import type { TaskTx } from './task-tables.js';
import type { ProjectsTable } from './task-tables.js';
import { keysetPage, type Page, type PageRequest } from '../../db/keyset-page.js';

/** Every column a client may see; tenant_id and deleted_at are not among them. */
const COLUMNS = ['id', 'name', 'description', 'created_by', 'created_at', 'updated_at'] as const;

export type ProjectRow = Pick<Selectable<ProjectsTable>, (typeof COLUMNS)[number]>;

export function findProject(tx: TaskTx, id: string): Promise<ProjectRow | undefined> {
  return tx.selectFrom('projects').select(COLUMNS).where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
}

export function listProjects(tx: TaskTx, page: PageRequest): Promise<Page<ProjectRow>> {
  const query = tx.selectFrom('projects').select(COLUMNS).where('deleted_at', 'is', null);
  return keysetPage(query, { at: 'created_at', id: 'id' }, page);
}

export function insertProject(
  tx: TaskTx,
  project: { id: string; name: string; description: string; createdBy: string | null },
): Promise<ProjectRow> {
  return tx
    .insertInto('projects')
    .values({ id: project.id, name: project.name, description: project.description, created_by: project.createdBy })
    .returning(COLUMNS)
    .executeTakeFirstOrThrow();
}

export function updateProject(
  tx: TaskTx,
  id: string,
  changes: { name?: string | undefined; description?: string | undefined },
  now: Date,
): Promise<ProjectRow | undefined> {
  return tx
    .updateTable('projects')
    .set({
      ...(changes.name !== undefined ? { name: changes.name } : {}),
      ...(changes.description !== undefined ? { description: changes.description } : {}),
      updated_at: now,
    })
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .returning(COLUMNS)
    .executeTakeFirst();
}

/** True when a live project was stamped; false when none had that id. */
export async function softDeleteProject(tx: TaskTx, id: string, now: Date): Promise<boolean> {
  const row = await tx
    .updateTable('projects')
    .set({ deleted_at: now, updated_at: now })
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}
