// The tenant's recall and zone settings: the weights of the four score parts, how fast
// recency decays, and how alike a stored memory must be to reinforce an existing one. A tenant
// that never changed them uses DEFAULT_MEMORY_SETTINGS; docs/memory.md explains each.

import type { Clock } from '../clock.js';
import { AppError } from '../http/problems.js';
import type { Actor } from '../tenancy/actor.js';
import type { MemoryDatabase, MemoryTx } from './memory-tables.js';

export interface MemorySettings {
  /** Weight of text relevance (full-text rank or trigram word similarity, whichever is higher). */
  readonly relevanceWeight: number;
  readonly importanceWeight: number;
  readonly recencyWeight: number;
  /** Weight of use: how often the memory was recalled or reinforced. */
  readonly frequencyWeight: number;
  /** Recency halves every this many hours since the memory was last written or recalled. */
  readonly recencyHalfLifeHours: number;
  /** Trigram similarity (0.3..1) at or above which a store reinforces the agent's existing memory. */
  readonly duplicateThreshold: number;
  /** How many numbers the tenant's embeddings have (semantic recall); null until the tenant sets it. */
  readonly embeddingDimension: number | null;
}

export const DEFAULT_MEMORY_SETTINGS: MemorySettings = Object.freeze({
  relevanceWeight: 0.55,
  importanceWeight: 0.2,
  recencyWeight: 0.15,
  frequencyWeight: 0.1,
  recencyHalfLifeHours: 168,
  duplicateThreshold: 0.8,
  embeddingDimension: null,
});

export type MemorySettingsPatch = { readonly [K in Exclude<keyof MemorySettings, 'embeddingDimension'>]?: number | undefined } & {
  readonly embeddingDimension?: number | null | undefined;
};

/** The tenant's settings in this unit of work, or the defaults. */
export async function readMemorySettings(tx: MemoryTx): Promise<MemorySettings> {
  const row = await tx.selectFrom('memory_settings').selectAll().where('deleted_at', 'is', null).executeTakeFirst();
  if (!row) return DEFAULT_MEMORY_SETTINGS;
  return {
    relevanceWeight: row.relevance_weight,
    importanceWeight: row.importance_weight,
    recencyWeight: row.recency_weight,
    frequencyWeight: row.frequency_weight,
    recencyHalfLifeHours: row.recency_half_life_hours,
    duplicateThreshold: row.duplicate_threshold,
    embeddingDimension: row.embedding_dimension,
  };
}

export class MemorySettingsManagement {
  constructor(
    private readonly db: MemoryDatabase,
    private readonly clock: Clock,
  ) {}

  get(actor: Actor): Promise<MemorySettings> {
    return this.db.tenant(readMemorySettings);
  }

  /** Changes the named settings, keeps the rest; the four weights may not all be zero. */
  update(actor: Actor, patch: MemorySettingsPatch): Promise<MemorySettings> {
    const now = this.clock.now();
    return this.db.tenant(async (tx) => {
      const current = await readMemorySettings(tx);
      const next: MemorySettings = {
        relevanceWeight: patch.relevanceWeight ?? current.relevanceWeight,
        importanceWeight: patch.importanceWeight ?? current.importanceWeight,
        recencyWeight: patch.recencyWeight ?? current.recencyWeight,
        frequencyWeight: patch.frequencyWeight ?? current.frequencyWeight,
        recencyHalfLifeHours: patch.recencyHalfLifeHours ?? current.recencyHalfLifeHours,
        duplicateThreshold: patch.duplicateThreshold ?? current.duplicateThreshold,
        embeddingDimension: patch.embeddingDimension === undefined ? current.embeddingDimension : patch.embeddingDimension,
      };
      if (next.relevanceWeight + next.importanceWeight + next.recencyWeight + next.frequencyWeight <= 0) {
        throw new AppError('validation-failed', 'at least one weight must be above zero', {
          errors: [{ field: 'body', message: 'at least one of the four weights must be above zero' }],
        });
      }
      const row = {
        relevance_weight: next.relevanceWeight,
        importance_weight: next.importanceWeight,
        recency_weight: next.recencyWeight,
        frequency_weight: next.frequencyWeight,
        recency_half_life_hours: next.recencyHalfLifeHours,
        duplicate_threshold: next.duplicateThreshold,
        embedding_dimension: next.embeddingDimension,
        updated_at: now,
      };
      await tx
        .insertInto('memory_settings')
        .values(row)
        .onConflict((conflict) => conflict.column('tenant_id').doUpdateSet(row))
        .execute();
      return next;
    });
  }
}
