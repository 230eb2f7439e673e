// Metadata is bounded JSON: the schema bounds its depth and keys, and this bounds its size,
// which a schema cannot state. Refused as a 400 naming the field before anything is written.

import { AppError } from '../http/problems.js';
import { MAX_METADATA_BYTES } from './agents.schemas.js';

export function assertMetadataSize(field: string, metadata: Record<string, unknown> | undefined): void {
  if (metadata === undefined || Buffer.byteLength(JSON.stringify(metadata), 'utf8') <= MAX_METADATA_BYTES) return;
  const message = `must be at most ${MAX_METADATA_BYTES} bytes as JSON text`;
  throw new AppError('validation-failed', `${field} ${message}`, { errors: [{ field, message }] });
}
