// Who holds a realtime connection: the credential it authenticated with, the tenant that
// credential decides (the client never names a room), and what the last verification found.

import type { Role } from '../db/tables.js';

export interface SocketCredential {
  readonly kind: 'user' | 'api_key';
  readonly tenantId: string;
  /** A member's connection: the user and the session family its access token belongs to. */
  readonly userId?: string | undefined;
  readonly sessionFamilyId?: string | undefined;
  /** An API key's connection. */
  readonly keyId?: string | undefined;
  /** The agent an agent key acts for: agent-scoped channels show only its events. */
  readonly agentId?: string | undefined;
}

export interface SocketIdentity extends SocketCredential {
  readonly role: Role;
  readonly plan: string;
  /** When the credential stops being valid (ms since epoch): the access token's or key's expiry. */
  readonly expiresAt: number | null;
}

/** The same principal: a re-authentication may refresh the token, never change who or where. */
export function sameHolder(a: SocketCredential, b: SocketCredential): boolean {
  return a.kind === b.kind && a.tenantId === b.tenantId && a.userId === b.userId && a.keyId === b.keyId && a.agentId === b.agentId;
}

/** Names the credential: connections of one credential share one verdict when access is re-read. */
export function credentialKey(credential: SocketCredential): string {
  return `${credential.kind}:${credential.tenantId}:${credential.userId ?? ''}:${credential.sessionFamilyId ?? ''}:${credential.keyId ?? ''}`;
}

/** How presence names the holder: the agent if it acts for one, else the user or key. */
export function presenceOf(identity: SocketCredential): { kind: 'user' | 'api_key' | 'agent'; id: string } {
  if (identity.agentId) return { kind: 'agent', id: identity.agentId };
  if (identity.kind === 'user') return { kind: 'user', id: identity.userId! };
  return { kind: 'api_key', id: identity.keyId! };
}
