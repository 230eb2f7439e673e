// Soft-deleted rows still satisfy a foreign key, so before a row may point at a project or a
// member, the target is checked live and share-locked until the transaction ends.

import type { TaskTx } from './task-tables.js';

/**
 * FOR SHARE conflicts with the UPDATE that soft-deletes the target: a concurrent delete
 * either waits for us (and then sees our row) or makes us wait and find the target gone.
 */
export async function lockLiveProject(tx: TaskTx, projectId: string): Promise<boolean> {
  const row = await tx
    .selectFrom('projects')
    .select('id')
    .where('id', '=', projectId)
    .where('deleted_at', 'is', null)
    .forShare()
    .executeTakeFirst();
  return row !== undefined;
}

/** A removed member keeps their membership row (soft delete), so the foreign key alone would accept them. */
export async function lockLiveMember(tx: TaskTx, userId: string): Promise<boolean> {
  const row = await tx
    .selectFrom('memberships')
    .select('user_id')
    .where('user_id', '=', userId)
    .where('deleted_at', 'is', null)
    .forShare()
    .executeTakeFirst();
  return row !== undefined;
}
