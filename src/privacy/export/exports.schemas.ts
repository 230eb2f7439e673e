// Request and response schemas of the export routes.

import { Type } from 'typebox';
import { Timestamp, Uuid } from '../../http/common-schemas.js';

export const ExportStatusSchema = Type.Union([
  Type.Literal('pending'),
  Type.Literal('running'),
  Type.Literal('ready'),
  Type.Literal('failed'),
  Type.Literal('expired'),
]);

export const ExportView = Type.Object(
  {
    id: Uuid,
    status: ExportStatusSchema,
    createdAt: Timestamp,
    finishedAt: Type.Union([Timestamp, Type.Null()]),
    expiresAt: Timestamp,
    archiveBytes: Type.Union([Type.Integer(), Type.Null()]),
    archiveSha256: Type.Union([Type.String(), Type.Null()]),
    failure: Type.Union([Type.String(), Type.Null()]),
    /** Present once the export is ready: a link that works without a credential until `expiresAt`. */
    download: Type.Optional(Type.Object({ url: Type.String(), expiresAt: Timestamp }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);

export const ArchiveParams = Type.Object({ id: Uuid }, { additionalProperties: false });

export const ArchiveQuery = Type.Object(
  {
    tenant: Uuid,
    expires: Type.Integer({ minimum: 0, maximum: 2 ** 40 }),
    signature: Type.String({ pattern: '^[A-Za-z0-9_-]{43}$', description: 'HMAC-SHA256, base64url' }),
  },
  { additionalProperties: false },
);
