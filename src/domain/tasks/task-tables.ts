// Row types of the task domain's tables (its migrations are ./migrations). The module's
// code queries through `db.withTables<TaskTables>()`, so these are typed like the platform's.

import type { Generated } from 'kysely';
import type { Database, Tx } from '../../db/database.js';
import type { CreatedAt, NullableTimestamp, Tables, TenantId, UpdatedAt } from '../../db/tables.js';

export type TaskStatus = 'todo' | 'in_progress' | 'done';

export interface ProjectsTable {
  tenant_id: TenantId;
  id: string;
  name: string;
  description: Generated<string>;
  created_by: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  deleted_at: NullableTimestamp;
}

export interface ProjectMembersTable {
  tenant_id: TenantId;
  project_id: string;
  user_id: string;
  created_at: CreatedAt;
  deleted_at: NullableTimestamp;
}

export interface TasksTable {
  tenant_id: TenantId;
  id: string;
  project_id: string;
  title: string;
  description: Generated<string>;
  status: Generated<TaskStatus>;
  assignee_id: string | null;
  created_by: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  deleted_at: NullableTimestamp;
}

export interface TaskTables {
  projects: ProjectsTable;
  project_members: ProjectMembersTable;
  tasks: TasksTable;
}

/** The database and unit-of-work handle the task domain's code is typed against. */
export type TaskDatabase = Database<Tables & TaskTables>;
export type TaskTx = Tx<Tables & TaskTables>;
