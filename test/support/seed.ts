// Seeds tenants with a member, a project, a project member and a task straight through a
// superuser connection, so isolation tests start from known rows in every tenant table.

import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { newId } from '../../src/db/ids.js';

export interface SeededTenant {
  readonly tenantId: string;
  readonly userId: string;
  readonly projectId: string;
  readonly taskId: string;
  readonly apiKeyId: string;
  readonly label: string;
}

export async function seedTenant(admin: pg.Pool, label: string): Promise<SeededTenant> {
  const tenantId = newId();
  const userId = newId();
  const projectId = newId();
  const taskId = newId();
  const apiKeyId = newId();
  const slug = `${label.toLowerCase()}-${randomUUID().slice(0, 8)}`;
  await admin.query(
    `WITH t AS (INSERT INTO tenants (id, name, slug) VALUES ($1, $2, $3)),
          u AS (INSERT INTO users (id, email, name) VALUES ($4, $5, $2))
     SELECT 1`,
    [tenantId, `Tenant ${label}`, slug, userId, `${slug}@example.test`],
  );
  await admin.query(`INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, 'owner')`, [tenantId, userId]);
  await admin.query(
    `INSERT INTO api_keys (tenant_id, id, prefix, secret_hash, name, created_by) VALUES ($1, $2, $3, '\\x00', 'key', $4)`,
    [tenantId, apiKeyId, randomUUID().replace(/-/g, '').slice(0, 16), userId],
  );
  await admin.query(`INSERT INTO projects (tenant_id, id, name) VALUES ($1, $2, $3)`, [tenantId, projectId, `secret-project-${label}`]);
  await admin.query(`INSERT INTO project_members (tenant_id, project_id, user_id) VALUES ($1, $2, $3)`, [tenantId, projectId, userId]);
  await admin.query(
    `INSERT INTO tasks (tenant_id, id, project_id, title, assignee_id) VALUES ($1, $2, $3, $4, $5)`,
    [tenantId, taskId, projectId, `secret-task-${label}`, userId],
  );
  return { tenantId, userId, projectId, taskId, apiKeyId, label };
}
