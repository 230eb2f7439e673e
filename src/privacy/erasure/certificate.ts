// Erasure certificates: what was removed (tables and row counts), when and on whose request,
// signed with an HMAC over the canonical JSON of all of it. Stored in a platform table that
// outlives the erased tenant; anyone holding the server's key can check one was not altered.

import { createHmac, timingSafeEqual } from 'node:crypto';
import { newId } from '../../db/ids.js';
import type { Tx } from '../../db/database.js';
import type { Tables } from '../../db/tables.js';
import type { CertificateKind, PrivacyTables } from '../privacy-tables.js';

export interface TableErasure {
  readonly deleted: number;
  readonly updated: number;
}

export interface CertificateBody {
  readonly tables: Readonly<Record<string, TableErasure>>;
  /** Files removed beside the rows (export archives). */
  readonly files?: number;
}

export interface Certificate {
  readonly id: string;
  readonly kind: CertificateKind;
  readonly subject: string;
  readonly scopeTenant: string | null;
  readonly requestedBy: string;
  readonly erasedAt: string;
  readonly body: CertificateBody;
}

/** JSON with object keys sorted at every level: the same certificate always signs the same bytes. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

export function signatureOf(key: Buffer, certificate: Certificate): string {
  return createHmac('sha256', key).update(`erasure-certificate\n${canonical(certificate)}`, 'utf8').digest('hex');
}

export function verifyCertificate(key: Buffer, certificate: Certificate, signature: string): boolean {
  const expected = Buffer.from(signatureOf(key, certificate), 'hex');
  const given = Buffer.from(signature, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** In the erasure's own service unit: the certificate commits with the erasure or not at all. */
export async function issueCertificate(
  tx: Tx<Tables & PrivacyTables>,
  key: Buffer,
  fields: Omit<Certificate, 'id'>,
): Promise<Certificate & { signature: string }> {
  const certificate: Certificate = { id: newId(), ...fields };
  const signature = signatureOf(key, certificate);
  await tx
    .insertInto('erasure_certificates')
    .values({
      id: certificate.id,
      kind: certificate.kind,
      subject: certificate.subject,
      scope_tenant: certificate.scopeTenant,
      requested_by: certificate.requestedBy,
      erased_at: certificate.erasedAt,
      body: JSON.stringify(certificate.body),
      signature,
    })
    .execute();
  return { ...certificate, signature };
}
