// The Standard Webhooks scheme: a `whsec_` secret (base64 of random bytes), and headers
// webhook-id, webhook-timestamp and webhook-signature, the last holding `v1,<base64 HMAC-SHA256
// of "id.timestamp.body">` once per secret that signs (several while a rotation overlaps).

import { createHmac, randomBytes } from 'node:crypto';

const PREFIX = 'whsec_';

/** A fresh signing secret, shown to the tenant once. */
export function newSigningSecret(): string {
  return PREFIX + randomBytes(32).toString('base64');
}

export interface SignedHeaders {
  readonly 'webhook-id': string;
  readonly 'webhook-timestamp': string;
  readonly 'webhook-signature': string;
}

export function signatureOf(secret: string, messageId: string, timestampSeconds: number, body: string): string {
  const key = Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');
  return 'v1,' + createHmac('sha256', key).update(`${messageId}.${timestampSeconds}.${body}`, 'utf8').digest('base64');
}

/** Headers for one attempt: every secret given signs, space-separated, as the scheme allows. */
export function signedHeaders(secrets: readonly string[], messageId: string, sentAt: Date, body: string): SignedHeaders {
  const timestamp = Math.floor(sentAt.getTime() / 1000);
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': secrets.map((secret) => signatureOf(secret, messageId, timestamp, body)).join(' '),
  };
}
