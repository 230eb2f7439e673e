// When a failed delivery tries again: exponential backoff with jitter, within a bounded window.
// Jitter ("equal jitter": half fixed, half random) spreads the retries of many deliveries that
// failed together (a receiver's outage) instead of sending them back in one burst.

import type { WebhookConfig } from '../config.js';

export type RetrySettings = Pick<WebhookConfig, 'retryBaseMs' | 'retryMaxMs'>;

/** The wait after the n-th failed attempt (n ≥ 1): between half and all of min(max, base × 2^(n-1)). */
export function retryDelayMs(failedAttempts: number, settings: RetrySettings, random: () => number = Math.random): number {
  const ceiling = Math.min(settings.retryMaxMs, settings.retryBaseMs * 2 ** Math.min(failedAttempts - 1, 40));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** The next attempt's time, or undefined when it would start after the delivery gives up. */
export function nextAttemptAt(failedAttempts: number, now: Date, giveUpAt: Date, settings: RetrySettings): Date | undefined {
  const at = new Date(now.getTime() + retryDelayMs(failedAttempts, settings));
  return at.getTime() <= giveUpAt.getTime() ? at : undefined;
}
