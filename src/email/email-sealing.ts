// Emails wait in the outbox (a database row) until the relay delivers them, and many carry a
// one-time token (verification, reset). Sealed with AES-256-GCM under a key derived from the
// server's JWT key, the row holds no usable token at rest, in backups or in a parked row; the
// relay opens it only to hand it to the mail server.

import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { JwtKeyConfig } from '../config.js';
import type { OutgoingEmail } from './outgoing-email.js';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A key of its own for this use: knowing it signs no JWT, and the JWT key is never used raw. */
export function emailSealingKey(jwt: JwtKeyConfig): Buffer {
  const material = jwt.kind === 'secret' ? jwt.secret : jwt.privateKeyPem;
  return Buffer.from(hkdfSync('sha256', Buffer.from(material, 'utf8'), Buffer.from('tenantry'), Buffer.from('outbox email sealing v1'), 32));
}

export class EmailSealer {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new TypeError('the email sealing key must be 32 bytes');
    this.#key = key;
  }

  /** base64url(iv || ciphertext || tag) of the message as JSON. */
  seal(email: OutgoingEmail): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const body = Buffer.concat([cipher.update(JSON.stringify(email), 'utf8'), cipher.final()]);
    return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
  }

  /** Throws when the seal was made under another key or altered (the delivery then fails and is retried or parked). */
  open(sealed: string): OutgoingEmail {
    const raw = Buffer.from(sealed, 'base64url');
    if (raw.length < IV_BYTES + TAG_BYTES) throw new Error('sealed email is too short');
    const decipher = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, IV_BYTES));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    const json = Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    const value = JSON.parse(json) as Record<string, unknown>;
    for (const field of ['to', 'subject', 'text', 'html'] as const) {
      if (typeof value[field] !== 'string') throw new Error(`sealed email has no ${field}`);
    }
    return value as unknown as OutgoingEmail;
  }
}
