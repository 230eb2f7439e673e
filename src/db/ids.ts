// Identifiers exposed by the API are UUIDv7: time-ordered (index-friendly), never sequential.
// One check of the UUID text form, for every value that must be one before it reaches SQL.

import { v7 } from 'uuid';

/** PostgreSQL's canonical uuid text: any version, so a made-up id is a 404, not a 400. */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID_PATTERN.test(value);
}

export function newId(): string {
  return v7();
}
