// Re-scoring the tenant's memories as they age, set-based: two UPDATE statements over the
// tenant's live memories, whatever their number; no row is loaded into Node and no memory gets
// a transaction of its own. The first moves the memories whose zone changed (counts them, and
// stamps when: stats report the moves), the second refreshes orbit scores that drifted within
// their zone.

import { sql } from 'kysely';
import { frequencyScore, orbitScore, recencyScore, weightValues, zoneOf } from './memory-scoring.js';
import type { MemorySettings } from './memory-settings.js';
import type { MemoryTx } from './memory-tables.js';

/** An orbit score that moved less than this within its zone is not rewritten. */
const SCORE_DRIFT = 0.01;

export interface Rezoned {
  /** Memories that changed zone. */
  readonly moved: number;
  /** Memories whose score was refreshed within their zone. */
  readonly rescored: number;
}

export async function rezoneMemories(tx: MemoryTx, settings: MemorySettings, now: Date): Promise<Rezoned> {
  const weights = weightValues(settings);
  const recency = recencyScore(now, sql`greatest(${sql.ref('updated_at')}, ${sql.ref('last_recalled_at')})`, weights.halfLifeHours);
  const frequency = frequencyScore(sql`${sql.ref('recall_count')} + ${sql.ref('reinforcement_count')}`);
  const score = orbitScore(weights, sql<number>`${sql.ref('importance')}::float8`, recency, frequency);
  const moved = await tx
    .updateTable('memories')
    .set({ orbit_score: score, zone: zoneOf(score), zoned_at: now })
    .where('deleted_at', 'is', null)
    .where(sql<boolean>`${sql.ref('zone')} <> ${zoneOf(score)}`)
    .executeTakeFirst();
  const rescored = await tx
    .updateTable('memories')
    .set({ orbit_score: score })
    .where('deleted_at', 'is', null)
    .where(sql<boolean>`abs(${sql.ref('orbit_score')} - ${score}) >= ${SCORE_DRIFT}`)
    .executeTakeFirst();
  return { moved: Number(moved.numUpdatedRows), rescored: Number(rescored.numUpdatedRows) };
}
