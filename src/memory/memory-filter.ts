// The filter fields of a request (recall, narrate, the lists, forget) as a MemoryFilter.

import type { MemoryFilter } from './memory-repository.js';

/** The filter as a request sends it: the same fields, instants as ISO text. */
export type FilterFields = Omit<MemoryFilter, 'since' | 'until'> & {
  readonly since?: string | undefined;
  readonly until?: string | undefined;
};

export function memoryFilter(fields: FilterFields): MemoryFilter {
  const { since, until, ...rest } = fields;
  return {
    ...rest,
    since: since === undefined ? undefined : new Date(since),
    until: until === undefined ? undefined : new Date(until),
  };
}
