// How far behind usage rollups are, for operators: a gauge of seconds behind on the metrics
// registry, and a warn line when a run ends more than LAG_WARNING_SECONDS behind.

import type { Logger } from 'pino';
import { Gauge } from 'prom-client';
import { metricsRegistry } from '../http/metrics-registry.js';
import type { RollupResult } from './roll-up-usage.js';

/** A run that ends further behind than this logs a warning (billing reads these rollups). */
export const LAG_WARNING_SECONDS = 300;

/**
 * Local time (ms) up to which every committed event is rolled up, as of the last run here:
 * that run's end minus the age of the oldest event it left queued. The gauge reads now minus
 * this, so it keeps growing when runs stop or fail instead of freezing at its last value.
 */
let rolledUpThrough: number | undefined;

const lagGauge = new Gauge({
  name: 'tenantry_usage_rollup_lag_seconds',
  help: 'Seconds usage rollups are behind: age of the oldest event not rolled up at the last run on this instance, plus the time since that run',
  registers: [metricsRegistry],
  collect() {
    if (rolledUpThrough !== undefined) this.set(Math.max(0, (Date.now() - rolledUpThrough) / 1000));
  },
});

/**
 * When this instance last finished a run. The lag gauge reads 0 on an instance that has not
 * run one since it started (the job runs on whichever instance's worker takes it), so an
 * alert on rollups stopping everywhere watches this: time() - max(last run) across instances.
 */
const lastRunGauge = new Gauge({
  name: 'tenantry_usage_rollup_last_run_timestamp_seconds',
  help: 'Unix time of the last usage rollup run finished on this instance (0: none since start)',
  registers: [metricsRegistry],
});

/** Records a finished run; a run that found another in progress measured nothing and changes nothing. */
export function observeRollup(result: RollupResult, logger: Logger, now = Date.now()): void {
  if (result.lagSeconds === undefined) return;
  rolledUpThrough = now - result.lagSeconds * 1000;
  lagGauge.set(result.lagSeconds);
  lastRunGauge.set(now / 1000);
  if (result.lagSeconds > LAG_WARNING_SECONDS) {
    logger.warn(
      { lag_seconds: Math.round(result.lagSeconds), pending_events: result.pending, threshold_seconds: LAG_WARNING_SECONDS },
      'usage rollups are behind',
    );
  }
}
