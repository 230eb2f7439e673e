// Who a new API key acts for, and how far it may reach. A person's key acts for them; a key
// minted with another key acts for that key's creator and never exceeds the minting key: its
// role (already capped by the creator's current role), its scopes, its expiry.

import type { Role } from '../../db/tables.js';
import { AppError } from '../../http/problems.js';
import { roleAtLeast } from '../../tenancy/roles.js';
import type { Principal } from '../authenticate.js';

export interface KeyRequest {
  readonly role: Role;
  readonly scopes: readonly string[];
  readonly expiresAt: Date | null;
}

export interface KeyGrant extends KeyRequest {
  /** The person the key acts for: its membership and role bound the key. */
  readonly createdBy: string;
  /** The key it was minted with, or null when a person made it. */
  readonly createdByKeyId: string | null;
}

/** `tasks:*` covers `tasks:read`, `tasks:write` and itself; any other scope only itself. */
export function scopeCovers(granted: string, wanted: string): boolean {
  if (granted === wanted) return true;
  return granted.endsWith(':*') && wanted.startsWith(granted.slice(0, -1));
}

/**
 * What the key may be, given the credential that asks for it and that credential's role in
 * the tenant (for a key: its own role capped by its creator's current role). Throws 403.
 *
 * @example
 *   const grant = keyGrant(request.principal!, actorOf(request).role, { role: 'member', scopes: [], expiresAt: null });
 */
export function keyGrant(minter: Principal, minterRole: Role, wanted: KeyRequest): KeyGrant {
  if (!roleAtLeast(minterRole, wanted.role)) {
    throw new AppError('forbidden', `a ${minterRole} cannot create a key with the ${wanted.role} role`);
  }
  if (minter.kind === 'user') return { ...wanted, createdBy: minter.userId, createdByKeyId: null };
  const beyond = wanted.scopes.filter((scope) => !minter.scopes.some((granted) => scopeCovers(granted, scope)));
  if (beyond.length > 0) throw new AppError('forbidden', `the minting key does not hold the scopes ${beyond.join(', ')}`);
  if (minter.expiresAt && wanted.expiresAt && wanted.expiresAt > minter.expiresAt) {
    throw new AppError('forbidden', `a key minted by a key cannot outlive it: expiresAt must be at most ${minter.expiresAt.toISOString()}`);
  }
  return {
    ...wanted,
    // Without an expiry of its own it expires with the minting key.
    expiresAt: wanted.expiresAt ?? minter.expiresAt,
    createdBy: minter.createdBy,
    createdByKeyId: minter.keyId,
  };
}
