// Identifiers exposed by the API are UUIDv7: time-ordered (index-friendly), never sequential.

import { v7 } from 'uuid';

export function newId(): string {
  return v7();
}
