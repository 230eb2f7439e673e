// The metric catalog (usage_metrics): which metrics exist, their unit and aggregation.
// Read on every ingest, so it is cached in memory and reloaded when an unknown key shows up.

import type { Database } from '../db/database.js';
import type { Aggregation } from '../db/tables.js';
import { outsideContext } from '../tenancy/context.js';

export interface Metric {
  readonly key: string;
  readonly unit: string;
  readonly aggregation: Aggregation;
  /** For unique_count: the event property whose distinct values are counted. */
  readonly uniqueBy: string | null;
  /** true: the quota resets each billing period; false: a level that carries over (seats). */
  readonly resets: boolean;
  readonly enforcement: 'hard' | 'soft';
  readonly description: string;
}

/** Tenantry's own metrics, recorded by the platform itself. */
export const OWN_METRICS = {
  apiCalls: 'api_calls',
  seats: 'seats',
  memories: 'memories',
  tasks: 'tasks',
  storageBytes: 'storage_bytes',
} as const;

/** An unknown key reloads the catalog at most this often, so junk keys cannot hammer it. */
const RELOAD_AFTER_MISS_MS = 5_000;
/** Catalog changes made on another instance are seen within this time. */
const MAX_AGE_MS = 60_000;

export class MetricCatalog {
  #metrics: Promise<ReadonlyMap<string, Metric>> | undefined;
  #loadedAt = 0;

  constructor(private readonly db: Database) {}

  async all(): Promise<ReadonlyMap<string, Metric>> {
    if (!this.#metrics || Date.now() - this.#loadedAt > MAX_AGE_MS) this.#reload();
    return this.#metrics!;
  }

  /** The metric, or undefined when the catalog has no such key (even after a reload). */
  async find(key: string): Promise<Metric | undefined> {
    const found = (await this.all()).get(key);
    if (found || Date.now() - this.#loadedAt < RELOAD_AFTER_MISS_MS) return found;
    this.#reload();
    return (await this.#metrics!).get(key);
  }

  /** Forget the cache (after a platform admin adds a metric on this instance). */
  invalidate(): void {
    this.#metrics = undefined;
  }

  #reload(): void {
    this.#loadedAt = Date.now();
    // A shared cache: loaded with no tenant, whichever request happens to trigger it.
    const loading = outsideContext(() =>
      this.db.identity({}, (tx) => tx.selectFrom('usage_metrics').selectAll().orderBy('key').execute()),
    ).then(
      (rows) =>
        new Map(
          rows.map((row) => [
            row.key,
            Object.freeze({
              key: row.key,
              unit: row.unit,
              aggregation: row.aggregation,
              uniqueBy: row.unique_by,
              resets: row.resets,
              enforcement: row.enforcement,
              description: row.description,
            }),
          ]),
        ),
    );
    loading.catch(() => {
      if (this.#metrics === loading) this.#metrics = undefined;
    });
    this.#metrics = loading;
  }
}
