// Random bearer secrets (refresh tokens, API key secrets) and their at-rest form.
// They carry 256 bits of entropy, so a fast SHA-256 is the right hash: no salt or stretching needed.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

export function matchesHash(value: string, expected: Buffer): boolean {
  const actual = sha256(value);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
