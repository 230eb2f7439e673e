// bench:peers' summary: per side the median of its rounds, the ratios as medians of per-round
// ratios (sides measured minutes apart on a shared machine are not compared, only neighbours
// in one round), issue 11's targets with whether each was met, and the markdown table.

import { median } from './bench-harness.js';
import type { GcUsage } from './server-meter.js';

export const SIDES = ['tenantry-jwt', 'tenantry-apikey', 'raw', 'postgraphile'] as const;
export type Side = (typeof SIDES)[number];

export interface RoundResult {
  readonly round: number;
  readonly side: Side;
  /** 1-minute, 5-minute and 15-minute load averages when the side's load began. */
  readonly loadAverage: readonly number[];
  readonly requests: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly nodeCpuMsPerRequest: number;
  readonly writesPerRequest: number;
  readonly pgCpuMsPerRequest: number;
  /** Minor and major GC pauses of the side's Node process. */
  readonly gcMsPerRequest: number;
  /** What its scavenges moved to the old generation: request objects that did not die young. */
  readonly promotedKBPerRequest: number;
  /** The young generation's size at the round's median scavenge. */
  readonly newSpaceMB: number;
  readonly gc: GcUsage;
  /** Tenantry's usage rollup ran during the load (its PostgreSQL CPU is in the round's). */
  readonly rollupDuringLoad: boolean;
  readonly pgBackends: number;
  readonly pgBackendsGone: number;
}

/** A round's figures, the medians of which each side's row shows. */
type Figure =
  | 'rps'
  | 'p50Ms'
  | 'p99Ms'
  | 'nodeCpuMsPerRequest'
  | 'pgCpuMsPerRequest'
  | 'writesPerRequest'
  | 'gcMsPerRequest'
  | 'promotedKBPerRequest'
  | 'newSpaceMB';
const FIGURES: readonly Figure[] = [
  'rps',
  'p50Ms',
  'p99Ms',
  'nodeCpuMsPerRequest',
  'pgCpuMsPerRequest',
  'writesPerRequest',
  'gcMsPerRequest',
  'promotedKBPerRequest',
  'newSpaceMB',
];

interface Ratio {
  readonly name: string;
  readonly of: Side;
  readonly to: Side;
  readonly figure: Figure;
  readonly target: { readonly atLeast: number } | { readonly atMost: number };
}

/** Issue 11's goals for the full stack, authenticated, both isolation layers on. */
const RATIOS: readonly Ratio[] = [
  { name: 'jwt req/s vs raw', of: 'tenantry-jwt', to: 'raw', figure: 'rps', target: { atLeast: 0.7 } },
  { name: 'jwt req/s vs postgraphile', of: 'tenantry-jwt', to: 'postgraphile', figure: 'rps', target: { atLeast: 2 } },
  { name: 'jwt p99 vs raw', of: 'tenantry-jwt', to: 'raw', figure: 'p99Ms', target: { atMost: 1.5 } },
  { name: 'apikey req/s vs raw', of: 'tenantry-apikey', to: 'raw', figure: 'rps', target: { atLeast: 0.6 } },
  { name: 'jwt PG CPU/req vs raw', of: 'tenantry-jwt', to: 'raw', figure: 'pgCpuMsPerRequest', target: { atMost: 1.5 } },
];

/**
 * PostGraphile's rate against raw's, per round: what the 2× PostGraphile target asks of
 * Tenantry relative to the raw server on this host (it moves from host to host).
 */
export interface PeerBaseline {
  readonly postgraphileToRaw: number;
  readonly perRound: number[];
  /** Twice PostGraphile's rate, in raw's: 2 × postgraphileToRaw. */
  readonly twicePostgraphileToRaw: number;
}

export interface PeersSummary {
  /** The medians of each side's rounds, and its transactions per request (counted once, in its warm-up). */
  readonly sides: Record<Side, Record<Figure | 'xactsPerRequest', number>>;
  readonly ratios: Array<{ name: string; value: number; perRound: number[]; target: string; met: boolean }>;
  readonly peerBaseline: PeerBaseline;
  readonly loadAverage1m: { readonly min: number; readonly median: number; readonly max: number };
}

const round3 = (value: number) => Number(value.toFixed(3));

export function summarize(rounds: readonly RoundResult[], xactsPerRequest: Readonly<Record<Side, number>>): PeersSummary {
  const ofSide = (side: Side) => rounds.filter((result) => result.side === side);
  const sides = Object.fromEntries(
    SIDES.map((side) => [
      side,
      {
        ...Object.fromEntries(FIGURES.map((figure) => [figure, round3(median(ofSide(side).map((r) => r[figure])))])),
        xactsPerRequest: round3(xactsPerRequest[side]),
      },
    ]),
  ) as PeersSummary['sides'];
  const perRound = (of: Side, to: Side, figure: Figure) =>
    ofSide(of).map((result) => {
      const peer = rounds.find((other) => other.round === result.round && other.side === to)!;
      return round3(result[figure] / peer[figure]);
    });
  const ratios = RATIOS.map((ratio) => {
    const perRoundRatios = perRound(ratio.of, ratio.to, ratio.figure);
    const value = median(perRoundRatios);
    const met = 'atLeast' in ratio.target ? value >= ratio.target.atLeast : value <= ratio.target.atMost;
    const target = 'atLeast' in ratio.target ? `>= ${ratio.target.atLeast}` : `<= ${ratio.target.atMost}`;
    return { name: ratio.name, value, perRound: perRoundRatios, target, met };
  });
  const postgraphile = perRound('postgraphile', 'raw', 'rps');
  const postgraphileToRaw = median(postgraphile);
  const loads = rounds.map((result) => result.loadAverage[0]!);
  return {
    sides,
    ratios,
    peerBaseline: { postgraphileToRaw, perRound: postgraphile, twicePostgraphileToRaw: round3(2 * postgraphileToRaw) },
    loadAverage1m: { min: Math.min(...loads), median: median(loads), max: Math.max(...loads) },
  };
}

/** The table bench/results/peers.md holds and the bench prints. */
export function markdownTable(summary: PeersSummary, setup: string): string {
  const lines = [
    '# bench:peers',
    '',
    setup,
    '',
    '| side | req/s | p50 ms | p99 ms | node CPU ms/req | PG CPU ms/req | xacts/req | writes/req | GC ms/req | promoted KB/req | new space MB |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...SIDES.map((side) => {
      const s = summary.sides[side];
      return (
        `| ${side} | ${Math.round(s.rps)} | ${s.p50Ms} | ${s.p99Ms} | ${s.nodeCpuMsPerRequest.toFixed(3)} | ${s.pgCpuMsPerRequest.toFixed(3)} | ` +
        `${s.xactsPerRequest.toFixed(2)} | ${s.writesPerRequest.toFixed(2)} | ${s.gcMsPerRequest.toFixed(3)} | ${s.promotedKBPerRequest.toFixed(1)} | ${s.newSpaceMB} |`
      );
    }),
    '',
    'Medians over rounds (xacts/req: counted once per side, in its warm-up); ratios are medians of per-round ratios.',
    '',
    '| ratio | value | target | met |',
    '| --- | ---: | --- | --- |',
    ...summary.ratios.map((ratio) => `| ${ratio.name} | ${ratio.value.toFixed(2)} | ${ratio.target} | ${ratio.met ? 'yes' : 'no'} |`),
    '',
    `PostGraphile served ${summary.peerBaseline.postgraphileToRaw.toFixed(2)}× raw's req/s (rounds ` +
      `${Math.min(...summary.peerBaseline.perRound).toFixed(2)}-${Math.max(...summary.peerBaseline.perRound).toFixed(2)}): ` +
      `twice PostGraphile is ${summary.peerBaseline.twicePostgraphileToRaw.toFixed(2)}× raw in this run.`,
    '',
    `Load average (1 min) at the start of each side's load: min ${summary.loadAverage1m.min.toFixed(2)}, ` +
      `median ${summary.loadAverage1m.median.toFixed(2)}, max ${summary.loadAverage1m.max.toFixed(2)}.`,
  ];
  return lines.join('\n') + '\n';
}
