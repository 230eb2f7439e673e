// A per-process cache with a TTL per entry and invalidation that wins over in-flight loads:
// a load that started before an invalidation never stores its (possibly stale) answer.

import { coarseNow } from './coarse-clock.js';

export interface TtlCacheOptions {
  /** Milliseconds an entry lives; asked at store time, so it can shrink while degraded. */
  readonly ttlMs: () => number;
  /** Monotonic milliseconds (injectable for tests). */
  readonly now?: () => number;
}

interface Entry<V> {
  readonly value: V;
  readonly expiresAt: number;
}

export class TtlCache<K, V> {
  readonly #entries = new Map<K, Entry<V>>();
  readonly #loading = new Map<K, Promise<V>>();
  readonly #ttlMs: () => number;
  readonly #now: () => number;
  /** Bumped by every invalidation; a load stores its result only if it is unchanged. */
  #generation = 0;

  constructor(options: TtlCacheOptions) {
    this.#ttlMs = options.ttlMs;
    this.#now = options.now ?? coarseNow;
  }

  /** The cached value while fresh, without loading. */
  peek(key: K): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** The cached value, or the one `load` returns (concurrent callers share one load). */
  get(key: K, load: () => Promise<V>): Promise<V> {
    const cached = this.peek(key);
    if (cached !== undefined) return Promise.resolve(cached);
    const pending = this.#loading.get(key);
    if (pending) return pending;
    const generation = this.#generation;
    const loading = load().then(
      (value) => {
        if (this.#loading.get(key) === loading) this.#loading.delete(key);
        if (generation === this.#generation) this.#entries.set(key, { value, expiresAt: this.#now() + this.#ttlMs() });
        return value;
      },
      (error: unknown) => {
        if (this.#loading.get(key) === loading) this.#loading.delete(key);
        throw error;
      },
    );
    this.#loading.set(key, loading);
    return loading;
  }

  /**
   * Loads now with the caller's own means (inside a unit of work: its transaction), without
   * joining a load in flight, which may be waiting for a connection of its own. The answer
   * is kept unless an invalidation came meanwhile.
   */
  async fill(key: K, load: () => Promise<V>): Promise<V> {
    const generation = this.#generation;
    const value = await load();
    if (generation === this.#generation) this.#entries.set(key, { value, expiresAt: this.#now() + this.#ttlMs() });
    return value;
  }

  invalidate(key: K): void {
    this.#generation += 1;
    this.#entries.delete(key);
    this.#loading.delete(key);
  }

  clear(): void {
    this.#generation += 1;
    this.#entries.clear();
    this.#loading.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}
