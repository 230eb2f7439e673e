// The metric catalog (usage_metrics): which metrics exist, their unit and aggregation.
// Read on every ingest, so it is cached in memory and reloaded when an unknown key shows up;
// inside a unit of work it is reloaded through that unit's transaction.

import type { Database, Tx } from '../db/database.js';
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

/**
 * Tenantry's own metrics, recorded by the platform itself. (The catalog also holds metrics
 * only clients report, such as memories and storage_bytes: nothing here measures them.)
 */
export const OWN_METRICS = {
  apiCalls: 'api_calls',
  seats: 'seats',
  agents: 'agents',
  tasks: 'tasks',
} as const;

/** An unknown key reloads the catalog at most this often, so junk keys cannot hammer it. */
const RELOAD_AFTER_MISS_MS = 5_000;
/** Catalog changes made on another instance are seen within this time. */
const MAX_AGE_MS = 60_000;

type Metrics = ReadonlyMap<string, Metric>;

async function readMetrics(tx: Tx): Promise<Metrics> {
  const rows = await tx.selectFrom('usage_metrics').selectAll().orderBy('key').execute();
  return new Map(
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
  );
}

export class MetricCatalog {
  /** The last catalog loaded, and when (Date.now()). */
  #loaded: { metrics: Metrics; at: number } | undefined;
  /** A shared load on a connection of its own, for callers outside any unit of work. */
  #loading: Promise<Metrics> | undefined;
  /** Bumped by invalidate(); a load that started before it does not store its answer. */
  #generation = 0;

  constructor(private readonly db: Database) {}

  /**
   * Every metric. Inside a unit of work pass its `tx`: a stale catalog is then read through
   * that transaction, never through a second connection (nor by waiting on someone else's).
   */
  async all(tx?: Tx): Promise<Metrics> {
    const loaded = this.#loaded;
    if (loaded && Date.now() - loaded.at <= MAX_AGE_MS) return loaded.metrics;
    return this.#load(tx);
  }

  /** The metric, or undefined when the catalog has no such key (even after a reload). */
  async find(key: string, tx?: Tx): Promise<Metric | undefined> {
    const found = (await this.all(tx)).get(key);
    if (found || Date.now() - (this.#loaded?.at ?? 0) < RELOAD_AFTER_MISS_MS) return found;
    return (await this.#load(tx)).get(key);
  }

  /** Forget the cache (after a platform admin adds a metric on this instance). */
  invalidate(): void {
    this.#generation += 1;
    this.#loaded = undefined;
    this.#loading = undefined;
  }

  #load(tx: Tx | undefined): Promise<Metrics> {
    const generation = this.#generation;
    const keep = (metrics: Metrics): Metrics => {
      if (generation === this.#generation) this.#loaded = { metrics, at: Date.now() };
      return metrics;
    };
    if (tx) return readMetrics(tx).then(keep);
    if (this.#loading) return this.#loading;
    // A shared cache: loaded with no tenant, whichever request happens to trigger it.
    const loading = outsideContext(() => this.db.identity({}, readMetrics)).then(keep);
    const forget = () => {
      if (this.#loading === loading) this.#loading = undefined;
    };
    loading.then(forget, forget);
    this.#loading = loading;
    return loading;
  }
}
