// Who an erasure is about, and the pseudonym that replaces them. The pseudonym is an HMAC of
// the user id under the server's key: stable (one person's audit rows still read as one actor,
// their unique-count usage still counts once) and not reversible without the key.

import { createHmac } from 'node:crypto';

export interface ErasedPerson {
  readonly userId: string;
  readonly email: string;
  readonly name: string;
}

/** `erased-<16 hex>`: what an erased person is called from now on. */
export function pseudonymOf(key: Buffer, userId: string): string {
  return `erased-${createHmac('sha256', key).update(`person\n${userId}`, 'utf8').digest('hex').slice(0, 16)}`;
}

/** A name shorter than this is not searched for in free text: it would match too many words. */
export const SHORTEST_SEARCHED_NAME = 3;
