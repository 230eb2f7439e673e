// Request and response schemas of the erasure routes.

import { Type } from 'typebox';
import { Password, Text, Timestamp, Uuid } from '../../http/common-schemas.js';

export const EraseSelfBody = Type.Object({ password: Password }, { additionalProperties: false });

export const EraseTenantBody = Type.Object(
  { confirm: Text({ minLength: 1, maxLength: 63, description: "The tenant's slug, repeated to confirm" }) },
  { additionalProperties: false },
);

const TableCounts = Type.Record(Type.String(), Type.Object({ deleted: Type.Integer(), updated: Type.Integer() }, { additionalProperties: false }));

export const CertificateView = Type.Object(
  {
    id: Uuid,
    kind: Type.Union([Type.Literal('tenant'), Type.Literal('person'), Type.Literal('member')]),
    subject: Type.String({ description: "The erased tenant's id, or the person's pseudonym" }),
    scopeTenant: Type.Union([Uuid, Type.Null()]),
    requestedBy: Type.String(),
    erasedAt: Timestamp,
    tables: TableCounts,
    files: Type.Optional(Type.Integer()),
    signature: Type.String({ description: 'HMAC-SHA256 (hex) of the canonical certificate under the server key' }),
  },
  { additionalProperties: false },
);

export const StoredCertificateView = Type.Intersect([
  CertificateView,
  Type.Object({ signatureValid: Type.Boolean({ description: 'Whether the stored certificate still matches its signature' }) }),
]);

export const CertificateQuery = Type.Object(
  {
    subject: Type.Optional(
      Type.String({ pattern: '^([0-9a-fA-F-]{36}|erased-[0-9a-f]{16})$', description: "A tenant's id, or a person's pseudonym (erased-…)" }),
    ),
  },
  { additionalProperties: false },
);
