// bench:memories' figures: per phase and side the medians of the rounds, the throughput ratio
// of Tenantry's recall to the raw statement's (of the medians, and the median of the per-round
// ratios), and the growth of recall p99 from 100k to 1M memories in the table.

import { median } from './bench-harness.js';

export type Phase = '100k' | '1M';
export type Side = 'tenantry-recall' | 'raw-recall' | 'tenantry-recall-1' | 'raw-recall-1' | 'tenantry-store';

export interface RoundResult {
  readonly phase: Phase;
  readonly round: number;
  readonly side: Side;
  /** The 1, 5 and 15 minute load averages as the round began. */
  readonly loadAverage: number[];
  readonly requests: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface SideSummary {
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly loadAverage: { readonly min: number; readonly max: number };
}

export interface Summary {
  readonly phases: Partial<Record<Phase, Partial<Record<Side, SideSummary>>>>;
  /** Tenantry's recall throughput over the raw statement's, at 1M. */
  readonly recallThroughputRatio: { readonly ofMedians: number; readonly medianOfRounds: number };
  /** Recall p99 at 1M over recall p99 at 100k, per side, under load and on one connection. */
  readonly recallP99Growth: { readonly tenantry: number; readonly raw: number; readonly tenantryOneConnection: number; readonly rawOneConnection: number };
}

const round2 = (value: number) => Number(value.toFixed(2));

export function summarize(rounds: readonly RoundResult[]): Summary {
  const phases: Summary['phases'] = {};
  for (const phase of ['100k', '1M'] as const) {
    for (const side of ['tenantry-recall', 'raw-recall', 'tenantry-recall-1', 'raw-recall-1', 'tenantry-store'] as const) {
      const of = rounds.filter((entry) => entry.phase === phase && entry.side === side);
      if (of.length === 0) continue;
      const loads = of.map((entry) => entry.loadAverage[0]!);
      (phases[phase] ??= {})[side] = {
        rps: median(of.map((entry) => entry.rps)),
        p50Ms: median(of.map((entry) => entry.p50Ms)),
        p99Ms: median(of.map((entry) => entry.p99Ms)),
        loadAverage: { min: Math.min(...loads), max: Math.max(...loads) },
      };
    }
  }
  const at1M = phases['1M']!;
  const growth = (side: Side) => round2(at1M[side]!.p99Ms / phases['100k']![side]!.p99Ms);
  const perRound = rounds
    .filter((entry) => entry.phase === '1M' && entry.side === 'tenantry-recall')
    .map((entry) => entry.rps / rounds.find((other) => other.phase === '1M' && other.side === 'raw-recall' && other.round === entry.round)!.rps);
  return {
    phases,
    recallThroughputRatio: { ofMedians: round2(at1M['tenantry-recall']!.rps / at1M['raw-recall']!.rps), medianOfRounds: round2(median(perRound)) },
    recallP99Growth: {
      tenantry: growth('tenantry-recall'),
      raw: growth('raw-recall'),
      tenantryOneConnection: growth('tenantry-recall-1'),
      rawOneConnection: growth('raw-recall-1'),
    },
  };
}

export function markdownReport(summary: Summary, setupLine: string): string {
  const lines = [
    '# bench:memories',
    '',
    setupLine,
    '',
    '| memories in the table | side | req/s | p50 ms | p99 ms | load average (1 min) |',
    '| --- | --- | ---: | ---: | ---: | --- |',
  ];
  for (const [phase, sides] of Object.entries(summary.phases)) {
    for (const [side, figures] of Object.entries(sides ?? {})) {
      lines.push(`| ${phase} | ${side} | ${figures.rps} | ${figures.p50Ms} | ${figures.p99Ms} | ${figures.loadAverage.min}-${figures.loadAverage.max} |`);
    }
  }
  lines.push(
    '',
    `Recall throughput, Tenantry over the raw statement at 1M: ${summary.recallThroughputRatio.ofMedians}x (median of the per-round ratios ${summary.recallThroughputRatio.medianOfRounds}x).`,
    `Recall p99 growth from 100k to 1M memories in the table: Tenantry ${summary.recallP99Growth.tenantry}x, raw ${summary.recallP99Growth.raw}x ` +
      `(one connection: Tenantry ${summary.recallP99Growth.tenantryOneConnection}x, raw ${summary.recallP99Growth.rawOneConnection}x).`,
    '',
  );
  return lines.join('\n');
}
