// Who is on a project, in the current tenant. A project member must be a member of the
// tenant: the composite foreign key (tenant_id, user_id) -> memberships guarantees it.

import type { TaskTx } from './task-tables.js';
import type { Role } from '../../db/tables.js';
import { keysetPage, type Page, type PagePosition } from '../../db/keyset-page.js';

export interface ProjectMemberRow {
  userId: string;
  email: string;
  name: string;
  role: Role;
  addedAt: Date;
}

/** Members removed from the tenant drop out of every project, though their rows remain. */
function liveProjectMembers(tx: TaskTx, projectId: string) {
  return tx
    .selectFrom('project_members as pm')
    .innerJoin('memberships as m', 'm.user_id', 'pm.user_id')
    .innerJoin('users as u', 'u.id', 'pm.user_id')
    .select(['pm.user_id as userId', 'u.email', 'u.name', 'm.role', 'pm.created_at as addedAt'])
    .where('pm.project_id', '=', projectId)
    .where('pm.deleted_at', 'is', null)
    .where('m.deleted_at', 'is', null);
}

/** First added first, one keyset page. */
export async function listProjectMembers(
  tx: TaskTx,
  projectId: string,
  limit: number,
  after: PagePosition | undefined,
): Promise<Page<ProjectMemberRow>> {
  return keysetPage(liveProjectMembers(tx, projectId), { at: 'pm.created_at', id: 'pm.user_id' }, { limit, sort: 'asc', after });
}

export function findProjectMember(tx: TaskTx, projectId: string, userId: string): Promise<ProjectMemberRow | undefined> {
  return liveProjectMembers(tx, projectId).where('pm.user_id', '=', userId).executeTakeFirst();
}

/**
 * Adds the user, or brings back a removed project membership. False when already a live
 * member. The conflict target is named by constraint, so tenant_id is not spelled out here.
 */
export async function addProjectMember(tx: TaskTx, projectId: string, userId: string): Promise<boolean> {
  const row = await tx
    .insertInto('project_members')
    .values({ project_id: projectId, user_id: userId })
    .onConflict((oc) =>
      oc.constraint('project_members_pkey').doUpdateSet({ deleted_at: null }).where('project_members.deleted_at', 'is not', null),
    )
    .returning('user_id')
    .executeTakeFirst();
  return row !== undefined;
}

/** True when a live project membership was stamped deleted. */
export async function removeProjectMember(tx: TaskTx, projectId: string, userId: string, now: Date): Promise<boolean> {
  const row = await tx
    .updateTable('project_members')
    .set({ deleted_at: now })
    .where('project_id', '=', projectId)
    .where('user_id', '=', userId)
    .where('deleted_at', 'is', null)
    .returning('user_id')
    .executeTakeFirst();
  return row !== undefined;
}

export async function removeAllProjectMembers(tx: TaskTx, projectId: string, now: Date): Promise<void> {
  await tx.updateTable('project_members').set({ deleted_at: now }).where('project_id', '=', projectId).where('deleted_at', 'is', null).execute();
}
