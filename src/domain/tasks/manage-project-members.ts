// The rules for a project's member list: only live projects have members, and only live
// members of this tenant can join, which the composite foreign key to memberships enforces.

import type { Clock } from '../../clock.js';
import type { TaskDatabase, TaskTx } from './task-tables.js';
import { AppError } from '../../http/problems.js';
import { lockLiveMember, lockLiveProject } from './live-references.js';
import { findProject } from './project-repository.js';
import {
  addProjectMember,
  findProjectMember,
  listProjectMembers,
  removeProjectMember,
  type ProjectMemberRow,
} from './project-member-repository.js';
import type { Page, PagePosition } from '../../db/keyset-page.js';
import type { Actor } from '../../tenancy/actor.js';
import { asReferenceProblem, unknownReference } from './reference-problems.js';

function projectNotFound(): AppError {
  return new AppError('not-found', 'no project with this id');
}

async function assertLiveProject(tx: TaskTx, projectId: string): Promise<void> {
  if (!(await lockLiveProject(tx, projectId))) throw projectNotFound();
}

export class ProjectMemberManagement {
  constructor(
    private readonly db: TaskDatabase,
    private readonly clock: Clock,
  ) {}

  list(actor: Actor, projectId: string, limit: number, after: PagePosition | undefined): Promise<Page<ProjectMemberRow>> {
    return this.db.tenant(async (tx) => {
      if (!(await findProject(tx, projectId))) throw projectNotFound();
      return listProjectMembers(tx, projectId, limit, after);
    });
  }

  /**
   * The project is locked first (the path names it: 404). The insert lets the foreign key
   * judge the user (another tenant's user fails there: 400); a removed member, whose row the
   * key still accepts, is refused by the liveness lock and the insert rolls back with it.
   */
  add(actor: Actor, projectId: string, userId: string): Promise<ProjectMemberRow> {
    return this.db.tenant(async (tx) => {
      await assertLiveProject(tx, projectId);
      const added = await addProjectMember(tx, projectId, userId).catch(asReferenceProblem);
      if (!(await lockLiveMember(tx, userId))) throw unknownReference('userId');
      if (!added) throw new AppError('conflict', 'this user is already a member of the project', { user_id: userId });
      const member = await findProjectMember(tx, projectId, userId);
      if (!member) throw new Error(`project member ${userId} vanished within its own transaction`);
      return member;
    });
  }

  async remove(actor: Actor, projectId: string, userId: string): Promise<void> {
    const now = this.clock.now();
    await this.db.tenant(async (tx) => {
      await assertLiveProject(tx, projectId);
      if (!(await removeProjectMember(tx, projectId, userId, now))) {
        throw new AppError('not-found', 'this user is not a member of the project');
      }
    });
  }
}
