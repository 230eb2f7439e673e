// Keeps the job worker alive through database outages. graphile-worker 0.16 stops its whole
// runner when a cron tick cannot reach the database, and leaves that rejection unhandled (a
// crash in Node 15+; fixed upstream in 0.17): the runner is restarted with back-off, and such
// rejections are logged instead of ending the process.

import type { Runner } from 'graphile-worker';
import type { Logger } from 'pino';
import { databaseFault } from '../db/database-fault.js';

const FIRST_RETRY_MS = 1_000;
const LAST_RETRY_MS = 30_000;

export class WorkerSupervisor {
  readonly #launch: () => Promise<Runner>;
  readonly #logger: Logger;
  #runner: Runner | undefined;
  #restarting: Promise<void> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #attempts = 0;
  #stopped = false;

  /** Database faults nobody awaited (graphile's internal promise chains) are logged; anything else still crashes. */
  readonly #onUnhandledRejection = (reason: unknown) => {
    if (!databaseFault(reason)) throw reason;
    this.#logger.warn({ err: reason }, 'job worker lost the database; it restarts when the database is back');
  };

  constructor(launch: () => Promise<Runner>, logger: Logger) {
    this.#launch = launch;
    this.#logger = logger;
  }

  /** Starts the runner; a failure here (no queue schema, no database) is the caller's. */
  async start(): Promise<void> {
    process.on('unhandledRejection', this.#onUnhandledRejection);
    try {
      this.#watch(await this.#launch());
    } catch (error) {
      process.off('unhandledRejection', this.#onUnhandledRejection);
      throw error;
    }
  }

  /** Stops taking jobs and waits for running ones; no restart follows. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    await this.#restarting;
    const runner = this.#runner;
    this.#runner = undefined;
    try {
      await runner?.stop();
    } finally {
      process.off('unhandledRejection', this.#onUnhandledRejection);
    }
  }

  #watch(runner: Runner): void {
    this.#runner = runner;
    this.#attempts = 0;
    runner.promise.catch((error: unknown) => {
      if (this.#stopped || this.#runner !== runner) return;
      this.#runner = undefined;
      if (databaseFault(error)) this.#logger.warn({ err: error }, 'job worker stopped: the database is unavailable; restarting');
      else this.#logger.error({ err: error }, 'job worker stopped with an error; restarting');
      this.#retry();
    });
  }

  #retry(): void {
    const delay = Math.min(LAST_RETRY_MS, FIRST_RETRY_MS * 2 ** this.#attempts++);
    this.#retryTimer = setTimeout(() => {
      this.#restarting = this.#launch().then(
        async (runner) => {
          this.#restarting = undefined;
          if (this.#stopped) await runner.stop();
          else this.#watch(runner);
        },
        (error: unknown) => {
          this.#restarting = undefined;
          if (this.#stopped) return;
          this.#logger.warn({ err: error, retry_in_ms: Math.min(LAST_RETRY_MS, FIRST_RETRY_MS * 2 ** this.#attempts) }, 'job worker did not restart yet');
          this.#retry();
        },
      );
    }, delay);
    this.#retryTimer.unref();
  }
}
