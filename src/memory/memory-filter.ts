// The filter fields of a request (recall, narrate, the lists, forget) as a MemoryFilter.

import type { MemoryFilter } from './memory-repository.js';

/** The filter as a request sends it: the same fields, instants as ISO text. */
export type FilterFields = Omit<MemoryFilter, 'since' | 'until'> & {
  readonly since?: string | undefined;
  readonly until?: string | undefined;
};

export function memoryFilter(fields: FilterFields): MemoryFilter {
  // Field by field: a route may pass its whole query, and only the filter goes on.
  return {
    agentId: fields.agentId,
    zones: fields.zones,
    tags: fields.tags,
    since: fields.since === undefined ? undefined : new Date(fields.since),
    until: fields.until === undefined ? undefined : new Date(fields.until),
    minImportance: fields.minImportance,
  };
}
