// Who may act in which tenant, cached per instance so that a tenant request needs no round
// trip of its own to establish it. An entry is never trusted alone: a request served from it
// carries a check that PostgreSQL runs in the request's first unit of work
// (tenancy/access-check.ts), so an entry gone stale costs one refused request, never a request
// served on revoked access. An entry lives no longer than what it was read from: a session or
// key that expires by time takes its entries with it. Entries are evicted by the invalidation
// bus (a tenant's plan, members or keys changed) and by a check that refused them; a load that
// raced an eviction stores nothing.

import { coarseNow } from './coarse-clock.js';
import type { CacheInvalidation } from './cache-invalidation.js';

/** What an entry is about: eviction finds entries by these. */
export interface AccessTags {
  readonly tenantId: string;
  readonly userId?: string | undefined;
  readonly keyId?: string | undefined;
}

interface Entry extends AccessTags {
  readonly value: unknown;
  readonly expiresAt: number;
}

export interface AccessCacheOptions {
  /** Milliseconds an entry lives, asked at store time (short while invalidation is degraded). */
  readonly ttlMs: () => number;
  /** Entries kept at most; the oldest go first. Only valid credentials ever make an entry. */
  readonly maxEntries?: number;
  readonly now?: () => number;
}

const DEFAULT_MAX_ENTRIES = 100_000;

export class AccessCache {
  readonly #entries = new Map<string, Entry>();
  readonly #ttlMs: () => number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  /** Bumped by every eviction; a load stores its answer only if it is unchanged. */
  #generation = 0;

  constructor(options: AccessCacheOptions, invalidation?: CacheInvalidation) {
    this.#ttlMs = options.ttlMs;
    this.#maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.#now = options.now ?? coarseNow;
    invalidation?.subscribe((event) => {
      if (event === 'all' || event.scope === 'platform') this.clear();
      else this.evict((entry) => entry.tenantId === event.tenantId);
    });
  }

  /** The entry's value while fresh. */
  get<V>(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value as V;
  }

  /**
   * Loads and stores, unless something was evicted meanwhile (the answer may predate it).
   * `lifetimeMs`: how long the value stays true by itself (until a session or key expires),
   * when that is shorter than the TTL.
   */
  async load<V>(key: string, tags: (value: V) => AccessTags, load: () => Promise<V>, lifetimeMs?: (value: V) => number | undefined): Promise<V> {
    const generation = this.#generation;
    const value = await load();
    if (generation === this.#generation) {
      this.#entries.delete(key);
      const expiresAt = this.#now() + Math.min(this.#ttlMs(), lifetimeMs?.(value) ?? Infinity);
      this.#entries.set(key, { ...tags(value), value, expiresAt });
      if (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
    }
    return value;
  }

  /** Drops every entry `matches` selects. */
  evict(matches: (tags: AccessTags) => boolean): void {
    this.#generation += 1;
    for (const [key, entry] of this.#entries) if (matches(entry)) this.#entries.delete(key);
  }

  clear(): void {
    this.#generation += 1;
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}
