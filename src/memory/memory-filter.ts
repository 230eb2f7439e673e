// The filter fields of a request (recall, narrate, the lists, forget) as a MemoryFilter.

import type { MemoryFilter } from './memory-repository.js';
import type { Zone } from './memory-tables.js';

export interface FilterFields {
  readonly agentId?: string | undefined;
  readonly zones?: readonly Zone[] | undefined;
  readonly tags?: readonly string[] | undefined;
  readonly since?: string | undefined;
  readonly until?: string | undefined;
  readonly minImportance?: number | undefined;
}

export function memoryFilter(fields: FilterFields): MemoryFilter {
  return {
    agentId: fields.agentId,
    zones: fields.zones,
    tags: fields.tags,
    since: fields.since === undefined ? undefined : new Date(fields.since),
    until: fields.until === undefined ? undefined : new Date(fields.until),
    minImportance: fields.minImportance,
  };
}
