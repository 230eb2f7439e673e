// Turns the database's verdict on a reference into a client answer: the composite foreign
// keys (tenant_id, ...) refuse a row pointing into another tenant, and that is a 400, not a 500.

import { AppError } from '../../http/problems.js';

const FOREIGN_KEY_VIOLATION = '23503';

/** Which request field each composite foreign key guards (PostgreSQL's default constraint names). */
const FIELD_OF_CONSTRAINT: Record<string, string> = {
  tasks_tenant_id_project_id_fkey: 'projectId',
  tasks_tenant_id_assignee_id_fkey: 'assigneeId',
  project_members_tenant_id_user_id_fkey: 'userId',
};

const MESSAGE_OF_FIELD: Record<string, string> = {
  projectId: 'is not a project of this tenant',
  assigneeId: 'is not a member of this tenant',
  userId: 'is not a member of this tenant',
};

/**
 * The same answer whether the id does not exist, belongs to another tenant or was deleted,
 * so the response never tells a caller that another tenant's id is real.
 */
export function unknownReference(field: string, cause?: unknown): AppError {
  const message = MESSAGE_OF_FIELD[field] ?? 'does not exist in this tenant';
  const errors = [{ field: `body.${field}`, message }];
  return new AppError('validation-failed', `body.${field} ${message}`, { errors }, cause ? { cause } : undefined);
}

/** Rethrows a foreign key violation on a known constraint as a 400; anything else unchanged. */
export function asReferenceProblem(error: unknown): never {
  const { code, constraint } = (error ?? {}) as { code?: string; constraint?: string };
  const field = constraint ? FIELD_OF_CONSTRAINT[constraint] : undefined;
  if (code === FOREIGN_KEY_VIOLATION && field) throw unknownReference(field, error);
  throw error;
}
