// API keys look like tnt_<prefix>_<secret>. The prefix is public and finds the row;
// the secret is shown once and kept only as a SHA-256 hash.

import { randomBytes } from 'node:crypto';
import { randomSecret } from './opaque-tokens.js';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const PREFIX_LENGTH = 16; // ~82 bits: collisions between tenants are not a practical concern.
const KEY_SHAPE = /^tnt_([a-z0-9]{12,32})_([A-Za-z0-9_-]{32,128})$/;

export interface GeneratedApiKey {
  readonly prefix: string;
  readonly secret: string;
  /** The full key handed to the client once. */
  readonly token: string;
}

function randomPrefix(): string {
  const bytes = randomBytes(PREFIX_LENGTH);
  return Array.from(bytes, (byte) => ALPHABET[byte % ALPHABET.length]).join('');
}

export function generateApiKey(): GeneratedApiKey {
  const prefix = randomPrefix();
  const secret = randomSecret(32);
  return { prefix, secret, token: `tnt_${prefix}_${secret}` };
}

export function parseApiKey(token: string): { prefix: string; secret: string } | undefined {
  const match = KEY_SHAPE.exec(token);
  return match ? { prefix: match[1]!, secret: match[2]! } : undefined;
}

export function looksLikeApiKey(token: string): boolean {
  return token.startsWith('tnt_');
}
