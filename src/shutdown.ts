// Runs the shutdown steps in order, each within a time bound: a step that hangs (a stalled
// database never answers a goodbye) is logged and left behind, so a stop always ends.

import type { Logger } from 'pino';

export interface ShutdownStep {
  readonly name: string;
  readonly run: () => Promise<unknown>;
  /** How long the step may take before the next one starts anyway. */
  readonly withinMs: number;
}

export async function shutDownInOrder(logger: Logger, steps: readonly ShutdownStep[]): Promise<void> {
  const started = performance.now();
  const unfinished: string[] = [];
  for (const step of steps) {
    logger.debug({ step: step.name }, 'shutdown step');
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      step.run().then(
        () => 'done' as const,
        (error: unknown) => {
          logger.warn({ err: error, step: step.name }, 'shutdown step failed; continuing');
          return 'failed' as const;
        },
      ),
      new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), step.withinMs);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
    if (outcome === 'late') logger.warn({ step: step.name, within_ms: step.withinMs }, 'shutdown step did not finish in time; continuing');
    if (outcome !== 'done') unfinished.push(step.name);
  }
  logger.info({ ms: Math.round(performance.now() - started), ...(unfinished.length ? { unfinished } : {}) }, 'shutdown completed');
}
