// Tenant roles, strongest first. A route names the weakest role it accepts.

import type { Role } from '../db/tables.js';

export const ROLES: readonly Role[] = ['owner', 'admin', 'member', 'viewer'];

const RANK: Record<Role, number> = { owner: 3, admin: 2, member: 1, viewer: 0 };

export function roleAtLeast(role: Role, minimum: Role): boolean {
  return RANK[role] >= RANK[minimum];
}
