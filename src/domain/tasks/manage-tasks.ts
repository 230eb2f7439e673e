// The rules for changing tasks: a task points only at a live project and a live member of
// its own tenant. The composite foreign keys refuse other tenants; the locks refuse the deleted.

import type { Clock } from '../../clock.js';
import { platformTx } from '../../db/database.js';
import type { TaskDatabase, TaskTx } from './task-tables.js';
import { newId } from '../../db/ids.js';
import type { TaskStatus } from './task-tables.js';
import { AppError } from '../../http/problems.js';
import type { ActionUsage } from '../../metering/action-usage.js';
import type { Actor } from '../../tenancy/actor.js';
import { lockLiveMember, lockLiveProject } from './live-references.js';
import { publishRealtimeEvent } from '../../realtime/realtime-event.js';
import type { Page, PageRequest } from '../../db/keyset-page.js';
import { asReferenceProblem, unknownReference } from './reference-problems.js';
import { findProject } from './project-repository.js';
import {
  findTask,
  insertTask,
  listTasks,
  listTasksStatement,
  softDeleteTask,
  taskPage,
  updateTask,
  type TaskChanges,
  type TaskFilter,
  type TaskRow,
} from './task-repository.js';

export interface NewTask {
  readonly projectId: string;
  readonly title: string;
  readonly description?: string | undefined;
  readonly status?: TaskStatus | undefined;
  readonly assigneeId?: string | null | undefined;
}

async function assertLiveAssignee(tx: TaskTx, assigneeId: string | null | undefined): Promise<void> {
  if (assigneeId && !(await lockLiveMember(tx, assigneeId))) throw unknownReference('assigneeId');
}

/** What a realtime event says of a task: ids and status, never its text. */
function taskEventData(task: TaskRow): Record<string, unknown> {
  return { id: task.id, projectId: task.project_id, status: task.status, assigneeId: task.assignee_id };
}

function notFound(): AppError {
  return new AppError('not-found', 'no task with this id');
}

export class TaskManagement {
  constructor(
    private readonly db: TaskDatabase,
    private readonly clock: Clock,
    private readonly usage?: ActionUsage,
  ) {}

  /**
   * Inserts first, so the composite foreign keys judge the references (another tenant's id
   * fails there), then share-locks the targets to refuse soft-deleted ones. A project delete
   * never waits on our uncommitted row, so this order cannot deadlock with it.
   */
  create(actor: Actor, input: NewTask): Promise<TaskRow> {
    const createdBy = actor.userId ?? null;
    const id = newId();
    return this.db.tenant(async (tx) => {
      // Quota first: the counter row is taken before any task row, and a failure below gives it back.
      await this.usage?.taskCreated(platformTx(tx), actor, id);
      const task = await insertTask(tx, {
        id,
        projectId: input.projectId,
        title: input.title,
        description: input.description ?? '',
        status: input.status ?? 'todo',
        assigneeId: input.assigneeId ?? null,
        createdBy,
      }).catch(asReferenceProblem);
      if (!(await lockLiveProject(tx, input.projectId))) throw unknownReference('projectId');
      await assertLiveAssignee(tx, input.assigneeId);
      await publishRealtimeEvent(platformTx(tx), actor.tenantId, { channel: 'tasks', type: 'task.created', data: taskEventData(task) });
      return task;
    });
  }

  /**
   * A new project is locked before the task row: a project delete locks the project and then
   * its tasks, and taking them in the same order here means the two can never deadlock.
   */
  async update(actor: Actor, id: string, changes: TaskChanges): Promise<TaskRow> {
    const now = this.clock.now();
    return this.db.tenant(async (tx) => {
      if (changes.projectId !== undefined && !(await lockLiveProject(tx, changes.projectId))) {
        if (!(await findTask(tx, id))) throw notFound();
        throw unknownReference('projectId');
      }
      const task = await updateTask(tx, id, changes, now).catch(asReferenceProblem);
      if (!task) throw notFound();
      await assertLiveAssignee(tx, changes.assigneeId);
      await publishRealtimeEvent(platformTx(tx), actor.tenantId, { channel: 'tasks', type: 'task.updated', data: taskEventData(task) });
      return task;
    });
  }

  async remove(actor: Actor, id: string): Promise<void> {
    const now = this.clock.now();
    const removed = await this.db.tenant(async (tx) => {
      const done = await softDeleteTask(tx, id, now);
      if (done) await publishRealtimeEvent(platformTx(tx), actor.tenantId, { channel: 'tasks', type: 'task.deleted', data: { id } });
      return done;
    });
    if (!removed) throw notFound();
  }

  /** A projectId filter naming no live project of this tenant is a 404, not an empty page. */
  async list(actor: Actor, filter: TaskFilter, page: PageRequest): Promise<Page<TaskRow>> {
    if (!filter.projectId) {
      // The hot path: one statement, one round trip, planned once per connection.
      return taskPage(await this.db.tenantStatement(listTasksStatement(filter, page), { prepared: true }), page);
    }
    return this.db.tenant(async (tx) => {
      if (filter.projectId && !(await findProject(tx, filter.projectId))) {
        throw new AppError('not-found', 'no project with this id');
      }
      return listTasks(tx, filter, page);
    });
  }
}
