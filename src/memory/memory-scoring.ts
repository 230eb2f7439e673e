// The score parts of a memory as SQL expressions, so ranking and zoning happen in the
// database, in one statement, over rows that never travel to Node. Each part is in 0..1:
//
//   relevance  = greatest(rank / (rank + 0.1), word_similarity(q, content) / 2), rank = ts_rank_cd(search, query)
//   importance = the stored importance
//   recency    = 0.5 ^ (hours since last written or recalled / half-life)
//   frequency  = least(1, ln(1 + recalls + reinforcements) / ln(1 + 50))
//
// A recall's score is the weighted mean of the four; a memory's orbit (its zone) is the
// weighted mean of the last three, since a zone has no query to be relevant to. The two text
// parts of relevance (rank / (rank + 0.1) and word_similarity) are computed where recall's
// candidates are found: recall_text_candidates, in the memory module's migrations 0006 and 0008.

import { sql, type RawBuilder } from 'kysely';
import type { MemorySettings } from './memory-settings.js';
import type { Zone } from './memory-tables.js';

type Expr = RawBuilder<number>;

/** Uses (recalls plus reinforcements) at which frequency reaches 1. */
export const FREQUENCY_SATURATION = 50;

/** Zones from the centre out, each with the lowest orbit score it holds. */
export const ZONES: readonly { readonly zone: Zone; readonly from: number }[] = [
  { zone: 'core', from: 0.7 },
  { zone: 'inner', from: 0.5 },
  { zone: 'outer', from: 0.3 },
  { zone: 'belt', from: 0.15 },
  { zone: 'cloud', from: 0 },
];

export interface WeightExprs {
  readonly relevance: Expr;
  readonly importance: Expr;
  readonly recency: Expr;
  readonly frequency: Expr;
  readonly halfLifeHours: Expr;
}

/**
 * Relevance from the two text parts. A trigram match counts half: an exact word scores as
 * much as one full-text match (0.5), a near-spelling less, so fuzzy matches fill in for words
 * full-text search misses without flattening its ranking of real matches.
 */
export function relevanceScore(text: Expr, trigram: Expr): Expr {
  return sql<number>`greatest(${text}, ${trigram} / 2)`;
}

/** Recency at `now` of a memory last touched at `touched`: 1 now, 0.5 one half-life ago. */
export function recencyScore(now: Date, touched: RawBuilder<unknown>, halfLifeHours: Expr): Expr {
  return sql<number>`power(0.5::float8, greatest(0::float8, extract(epoch FROM (${now}::timestamptz - ${touched}))::float8 / 3600) / ${halfLifeHours})`;
}

/** Use, saturating at FREQUENCY_SATURATION recalls plus reinforcements. */
export function frequencyScore(uses: RawBuilder<unknown>): Expr {
  return sql<number>`least(1::float8, ln(1 + (${uses})::float8) / ln(${1 + FREQUENCY_SATURATION}::float8))`;
}

/** The weighted mean of importance, recency and frequency; importance alone if their weights are all zero. */
export function orbitScore(weights: WeightExprs, importance: Expr, recency: Expr, frequency: Expr): Expr {
  return sql<number>`coalesce(
    (${weights.importance} * ${importance} + ${weights.recency} * ${recency} + ${weights.frequency} * ${frequency})
      / nullif(${weights.importance} + ${weights.recency} + ${weights.frequency}, 0),
    ${importance})::float8`;
}

/** The zone an orbit score puts a memory in. */
export function zoneOf(score: Expr): RawBuilder<Zone> {
  const [core, inner, outer, belt] = ZONES;
  return sql<Zone>`CASE WHEN ${score} >= ${core!.from} THEN 'core' WHEN ${score} >= ${inner!.from} THEN 'inner'
    WHEN ${score} >= ${outer!.from} THEN 'outer' WHEN ${score} >= ${belt!.from} THEN 'belt' ELSE 'cloud' END`;
}

/** A recall's score: the weighted mean of the four parts (the weights never all zero). */
export function recallScore(weights: WeightExprs, relevance: Expr, importance: Expr, recency: Expr, frequency: Expr): Expr {
  return sql<number>`((${weights.relevance} * ${relevance} + ${weights.importance} * ${importance}
    + ${weights.recency} * ${recency} + ${weights.frequency} * ${frequency})
    / (${weights.relevance} + ${weights.importance} + ${weights.recency} + ${weights.frequency}))::float8`;
}

/** The tenant's weights as query parameters. */
export function weightValues(settings: MemorySettings): WeightExprs {
  const value = (n: number) => sql<number>`${n}::float8`;
  return {
    relevance: value(settings.relevanceWeight),
    importance: value(settings.importanceWeight),
    recency: value(settings.recencyWeight),
    frequency: value(settings.frequencyWeight),
    halfLifeHours: value(settings.recencyHalfLifeHours),
  };
}
