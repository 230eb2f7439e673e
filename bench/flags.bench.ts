// bench:flags — warm in-process flag evaluation (50 flags of mixed kinds, 10k tenants):
// decisions/s and p50/p99 per decision, against unleash-client's local evaluation of the
// same decisions (bootstrapped from an object, no Unleash server) in the same run.

import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { InMemStorageProvider, Unleash, UnleashEvents } from 'unleash-client';
import type { FlagDefinition } from '../src/flags/flag.js';
import { evaluateFlag, type FlagContext } from '../src/flags/evaluate-flag.js';
import { Flags } from '../src/flags/flags.js';
import { TenantProfiles, type TenantProfile } from '../src/cache/tenant-profiles.js';
import { PlatformCatalog } from '../src/plans/platform-catalog.js';
import type { PlatformData } from '../src/plans/platform-repository.js';

const TENANTS = 10_000;
const DECISIONS = Number(process.env.BENCH_DECISIONS ?? 1_000_000);
const BATCH = 100;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PLANS = ['free', 'pro', 'promax', 'enterprise'] as const;

// ---- the flag set: 20 boolean (plan-gated), 20 rollouts, 10 variants ----------------------

const flags: FlagDefinition[] = [];
const planDefaults: { flagKey: string; planKey: string; value: unknown }[] = [];
for (let i = 0; i < 20; i++) {
  const key = `feature_${i}`;
  flags.push({ key, kind: 'boolean', description: '', defaultValue: false, rolloutBasisPoints: null, bucketBy: 'tenantId', tenantEditable: i % 4 === 0 });
  for (const plan of PLANS.slice(1 + (i % 3))) planDefaults.push({ flagKey: key, planKey: plan, value: true });
}
for (let i = 0; i < 20; i++) {
  const percent = [1, 5, 10, 25, 50, 75, 90, 99][i % 8]!;
  flags.push({ key: `rollout_${i}`, kind: 'rollout', description: '', defaultValue: false, rolloutBasisPoints: percent * 100, bucketBy: 'tenantId', tenantEditable: false });
}
for (let i = 0; i < 10; i++) {
  const key = `variant_${i}`;
  flags.push({ key, kind: 'variant', description: '', defaultValue: 'fts', rolloutBasisPoints: null, bucketBy: 'tenantId', tenantEditable: true });
  for (const plan of PLANS.slice(2)) planDefaults.push({ flagKey: key, planKey: plan, value: 'hybrid' });
}
const platform: PlatformData = {
  plans: PLANS.map((key, index) => ({ key, name: key, monthlyPriceCents: index * 1000, limits: {}, apiRateLimitPerMinute: null, settings: {}, sortOrder: index, meteredPrices: {} })),
  flags,
  planDefaults,
};

// ---- 10k tenants, 5% with an override of one boolean flag ----------------------------------

const tenants = Array.from({ length: TENANTS }, (_, index) => {
  const overrides = new Map<string, unknown>();
  if (index % 20 === 0) overrides.set(`feature_${index % 20}`, index % 40 === 0);
  return { tenantId: randomUUID(), plan: PLANS[index % PLANS.length]!, overrides };
});
const profileOf = new Map<string, TenantProfile>(
  tenants.map((t) => [t.tenantId, { tenantId: t.tenantId, name: t.tenantId, plan: t.plan, settings: {}, branding: {}, overrides: t.overrides }]),
);

// ---- the decisions: random (flag, tenant) pairs, the same list for both sides --------------

const decisions = Array.from({ length: DECISIONS }, () => {
  const tenant = tenants[Math.floor(Math.random() * TENANTS)]!;
  const flag = flags[Math.floor(Math.random() * flags.length)]!;
  return { flag, tenant, context: { tenantId: tenant.tenantId, plan: tenant.plan } as FlagContext };
});

// ---- the same flags as Unleash toggles ------------------------------------------------------

function unleashToggles() {
  const plansWith = (flagKey: string, value: unknown) => planDefaults.filter((d) => d.flagKey === flagKey && d.value === value).map((d) => d.planKey);
  const overridden = (flagKey: string, value: boolean) => tenants.filter((t) => t.overrides.get(flagKey) === value).map((t) => t.tenantId);
  const rollout = (percentage: number, constraints: unknown[] = [], variants?: unknown[]) => ({
    name: 'flexibleRollout',
    parameters: { rollout: String(percentage), stickiness: 'tenantId', groupId: '' },
    constraints,
    ...(variants ? { variants } : {}),
  });
  return flags.map((flag) => {
    const base = { name: flag.key, enabled: true, type: 'release', project: 'default', stale: false, impressionData: false };
    const withGroup = (strategy: ReturnType<typeof rollout>) => ({ ...strategy, parameters: { ...strategy.parameters, groupId: flag.key } });
    if (flag.kind === 'rollout') return { ...base, strategies: [withGroup(rollout(flag.rolloutBasisPoints! / 100))] };
    if (flag.kind === 'boolean') {
      const on = overridden(flag.key, true);
      const off = overridden(flag.key, false);
      return {
        ...base,
        strategies: [
          ...(on.length ? [withGroup(rollout(100, [{ contextName: 'tenantId', operator: 'IN', values: on }]))] : []),
          withGroup(
            rollout(100, [
              { contextName: 'plan', operator: 'IN', values: plansWith(flag.key, true) },
              ...(off.length ? [{ contextName: 'tenantId', operator: 'NOT_IN', values: off }] : []),
            ]),
          ),
        ],
      };
    }
    const variant = (value: string) => [{ name: value, weight: 1000, weightType: 'variable', stickiness: 'tenantId', payload: { type: 'string', value } }];
    return {
      ...base,
      strategies: [
        withGroup(rollout(100, [{ contextName: 'plan', operator: 'IN', values: plansWith(flag.key, 'hybrid') }], variant('hybrid'))),
        withGroup(rollout(100, [], variant('fts'))),
      ],
    };
  });
}

async function startUnleash(): Promise<Unleash> {
  const unleash = new Unleash({
    appName: 'tenantry-bench',
    url: 'http://127.0.0.1:9/api/', // never reached: the repository comes from the bootstrap
    refreshInterval: 0,
    disableMetrics: true,
    storageProvider: new InMemStorageProvider(),
    bootstrap: { data: unleashToggles() as never },
    skipInstanceCountWarning: true,
  });
  unleash.on(UnleashEvents.Error, () => {});
  unleash.on(UnleashEvents.Warn, () => {});
  await new Promise<void>((resolve) => unleash.once(UnleashEvents.Ready, () => resolve()));
  return unleash;
}

// ---- measurement ----------------------------------------------------------------------------

interface Result {
  readonly name: string;
  readonly decisionsPerSecond: number;
  readonly p50Ns: number;
  readonly p99Ns: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Runs every decision in batches of BATCH, timing each batch; per-decision time = batch / BATCH. */
async function measure(name: string, decide: (index: number) => unknown | Promise<unknown>, isAsync: boolean): Promise<Result> {
  const perDecision: number[] = [];
  let total = 0n;
  let sink = 0;
  for (let start = 0; start < DECISIONS; start += BATCH) {
    const end = Math.min(DECISIONS, start + BATCH);
    const began = process.hrtime.bigint();
    if (isAsync) {
      for (let i = start; i < end; i++) if ((await decide(i)) === true) sink++;
    } else {
      for (let i = start; i < end; i++) if (decide(i) === true) sink++;
    }
    const took = process.hrtime.bigint() - began;
    total += took;
    perDecision.push(Number(took) / (end - start));
  }
  perDecision.sort((a, b) => a - b);
  if (sink < 0) console.log(sink);
  return {
    name,
    decisionsPerSecond: Math.round(DECISIONS / (Number(total) / 1e9)),
    p50Ns: Math.round(percentile(perDecision, 50)),
    p99Ns: Math.round(percentile(perDecision, 99)),
  };
}

function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : Math.round((sorted[middle - 1]! + sorted[middle]!) / 2);
}

/**
 * Each figure is the median over the rounds (not the best round): on a shared machine the
 * best round says how fast it can go when nothing else runs, not how fast it usually goes.
 */
function median(results: Result[]): Result {
  return {
    name: results[0]!.name,
    decisionsPerSecond: medianOf(results.map((r) => r.decisionsPerSecond)),
    p50Ns: medianOf(results.map((r) => r.p50Ns)),
    p99Ns: medianOf(results.map((r) => r.p99Ns)),
  };
}

async function main(): Promise<void> {
  const catalog = new PlatformCatalog(async () => platform, undefined, () => 30_000);
  const profiles = new TenantProfiles(async (tenantId) => profileOf.get(tenantId) ?? null, undefined, () => 30_000);
  const service = new Flags(catalog, profiles);
  const snapshot = await catalog.snapshot();
  for (const tenant of tenants) await profiles.get(tenant.tenantId); // warm
  const unleash = await startUnleash();

  // Agreement on the same decisions (rollouts bucket differently: only their rates compare).
  let same = 0;
  let compared = 0;
  let oursOn = 0;
  let theirsOn = 0;
  let rollouts = 0;
  for (let i = 0; i < 100_000; i++) {
    const { flag, context } = decisions[i]!;
    const ours = (await service.evaluate(flag.key, context)).value;
    if (flag.kind === 'variant') {
      const theirs = unleash.getVariant(flag.key, { properties: { tenantId: context.tenantId, plan: context.plan } }).payload?.value;
      compared++;
      if (theirs === ours) same++;
    } else {
      const theirs = unleash.isEnabled(flag.key, { properties: { tenantId: context.tenantId, plan: context.plan } });
      if (flag.kind === 'boolean') {
        compared++;
        if (theirs === ours) same++;
      } else {
        rollouts++;
        if (ours === true) oursOn++;
        if (theirs) theirsOn++;
      }
    }
  }

  const unleashContexts = decisions.map(({ context }) => ({ properties: { tenantId: context.tenantId, plan: context.plan } }));
  const rounds: Result[][] = [];
  /** The 1-minute load average as each round starts: the machine is shared. */
  const loadAverages: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    loadAverages.push(Number(loadavg()[0]!.toFixed(2)));
    rounds.push([
      await measure('tenantry Flags.evaluate (async, cached)', (i) => service.evaluate(decisions[i]!.flag.key, decisions[i]!.context).then((e) => e.value), true),
      await measure(
        'tenantry evaluateFlag (sync core)',
        (i) => {
          const { flag, tenant, context } = decisions[i]!;
          return evaluateFlag(flag, snapshot.planDefaults.get(tenant.plan), tenant.overrides, context).value;
        },
        false,
      ),
      await measure(
        'unleash-client isEnabled/getVariant',
        (i) => {
          const { flag } = decisions[i]!;
          return flag.kind === 'variant' ? unleash.getVariant(flag.key, unleashContexts[i]!).payload?.value : unleash.isEnabled(flag.key, unleashContexts[i]!);
        },
        false,
      ),
    ]);
  }
  unleash.destroy();

  const [ours, core, theirs] = [0, 1, 2].map((index) => median(rounds.map((round) => round[index]!))) as [Result, Result, Result];
  const rows = [ours, core, theirs].map((r) => ({
    side: r.name,
    'decisions/s': r.decisionsPerSecond.toLocaleString('en'),
    'p50 µs': (r.p50Ns / 1000).toFixed(3),
    'p99 µs': (r.p99Ns / 1000).toFixed(3),
    'vs unleash': (r.decisionsPerSecond / theirs.decisionsPerSecond).toFixed(2) + '×',
  }));
  console.log(`\nbench:flags — ${flags.length} flags (20 boolean, 20 rollout, 10 variant), ${TENANTS} tenants, ${DECISIONS.toLocaleString('en')} decisions × ${ROUNDS} rounds, batches of ${BATCH}`);
  console.table(rows);
  console.log(`agreement on boolean and variant decisions: ${((same / compared) * 100).toFixed(2)}% of ${compared}`);
  console.log(`rollout on-rate: tenantry ${((oursOn / rollouts) * 100).toFixed(2)}%, unleash ${((theirsOn / rollouts) * 100).toFixed(2)}% (different bucketing of the same percentages)`);
  const targetP99 = ours.p99Ns < 10_000;
  const goalP99 = ours.p99Ns < 2_000;
  const targetRate = ours.decisionsPerSecond >= theirs.decisionsPerSecond;
  console.log(
    `targets: p99 < 10 µs ${targetP99 ? 'met' : 'MISSED'}; p99 < 2 µs warm (issue 11) ${goalP99 ? 'met' : 'MISSED'}; ` +
      `decisions/s >= unleash-client ${targetRate ? 'met' : 'MISSED'} (load average per round: ${loadAverages.join(', ')})`,
  );

  await mkdir(new URL('./results/', import.meta.url), { recursive: true });
  await writeFile(
    new URL('./results/flags.json', import.meta.url),
    JSON.stringify(
      {
        benchmark: 'flags',
        date: new Date().toISOString(),
        machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
        latencyMethod: `p50/p99 over batches of ${BATCH} decisions timed with process.hrtime.bigint (per-decision mean of each batch), not single calls; results are medians over the rounds`,
        setup: { flags: flags.length, kinds: { boolean: 20, rollout: 20, variant: 10 }, tenants: TENANTS, decisions: DECISIONS, batch: BATCH, rounds: ROUNDS },
        results: { tenantry: ours, tenantryCore: core, unleashClient: theirs },
        ratio: { tenantryVsUnleash: +(ours.decisionsPerSecond / theirs.decisionsPerSecond).toFixed(2), coreVsUnleash: +(core.decisionsPerSecond / theirs.decisionsPerSecond).toFixed(2) },
        agreement: { booleanAndVariant: +(same / compared).toFixed(4), rolloutOnRate: { tenantry: +(oursOn / rollouts).toFixed(4), unleash: +(theirsOn / rollouts).toFixed(4) } },
        targets: { p99Under10us: targetP99, p99Under2us: goalP99, atLeastUnleashRate: targetRate },
        loadAverages,
        allRounds: rounds,
      },
      null,
      2,
    ) + '\n',
  );
}

await main();
