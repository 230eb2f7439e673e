// The rules for changing projects: names are unique per tenant among live projects (the
// database decides, so two concurrent creates cannot both win), and deleting one cascades.

import type { Clock } from '../../clock.js';
import type { TaskDatabase } from './task-tables.js';
import { newId } from '../../db/ids.js';
import { AppError } from '../../http/problems.js';
import type { Actor } from '../../tenancy/actor.js';
import { removeAllProjectMembers } from './project-member-repository.js';
import { insertProject, softDeleteProject, updateProject, type ProjectRow } from './project-repository.js';
import { softDeleteTasksOfProject } from './task-repository.js';

const UNIQUE_VIOLATION = '23505';

/** Only the per-tenant name index becomes a 409; any other unique violation is a bug. */
function asNameConflict(error: unknown, name: string | undefined): never {
  const { code, constraint } = (error ?? {}) as { code?: string; constraint?: string };
  if (code === UNIQUE_VIOLATION && constraint === 'projects_name_key') {
    throw new AppError('conflict', `a project named "${name}" already exists`, { field: 'name' }, { cause: error });
  }
  throw error;
}

export class ProjectManagement {
  constructor(
    private readonly db: TaskDatabase,
    private readonly clock: Clock,
  ) {}

  create(actor: Actor, input: { name: string; description?: string | undefined }): Promise<ProjectRow> {
    const createdBy = actor.userId ?? null;
    return this.db
      .tenant((tx) => insertProject(tx, { id: newId(), name: input.name, description: input.description ?? '', createdBy }))
      .catch((error: unknown) => asNameConflict(error, input.name));
  }

  async update(actor: Actor, id: string, changes: { name?: string | undefined; description?: string | undefined }): Promise<ProjectRow> {
    const now = this.clock.now();
    const updated = await this.db
      .tenant((tx) => updateProject(tx, id, changes, now))
      .catch((error: unknown) => asNameConflict(error, changes.name));
    if (!updated) throw new AppError('not-found', 'no project with this id');
    return updated;
  }

  /** Soft-deletes the project, its live tasks and its member list in one transaction: all or none. */
  async remove(actor: Actor, id: string): Promise<void> {
    const now = this.clock.now();
    await this.db.tenant(async (tx) => {
      // The project row is locked first; task writers lock it (FOR SHARE) before their task
      // rows, so the two orders never cross and cannot deadlock.
      if (!(await softDeleteProject(tx, id, now))) throw new AppError('not-found', 'no project with this id');
      await softDeleteTasksOfProject(tx, id, now);
      await removeAllProjectMembers(tx, id, now);
    });
  }
}
