// Signed download links: the link names the tenant, the export and an expiry, and carries an
// HMAC-SHA256 of all three under the server's key. The download route needs no credential but
// the link; a link cannot be moved to another export or tenant, or used past its expiry.

import { createHmac, timingSafeEqual } from 'node:crypto';

export interface DownloadGrant {
  readonly tenantId: string;
  readonly exportId: string;
  /** Unix seconds. */
  readonly expires: number;
}

function signatureOf(key: Buffer, grant: DownloadGrant): Buffer {
  return createHmac('sha256', key).update(`tenant-export\n${grant.tenantId}\n${grant.exportId}\n${grant.expires}`, 'utf8').digest();
}

/** The path and query of the download route for this grant. */
export function signedDownloadPath(key: Buffer, grant: DownloadGrant): string {
  const query = new URLSearchParams({
    tenant: grant.tenantId,
    expires: String(grant.expires),
    signature: signatureOf(key, grant).toString('base64url'),
  });
  return `/v1/exports/${grant.exportId}/archive?${query}`;
}

export type GrantCheck = 'valid' | 'bad-signature' | 'expired';

/** Checks the signature first (in constant time), then the expiry against `nowSeconds`. */
export function checkGrant(key: Buffer, grant: DownloadGrant, signature: string, nowSeconds: number): GrantCheck {
  const expected = signatureOf(key, grant);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'bad-signature';
  return nowSeconds < grant.expires ? 'valid' : 'expired';
}
