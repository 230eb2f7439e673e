// A second app instance on the same test database (its own pool, caches and transport
// connection), as a second server process would be: for cross-instance invalidation tests.

import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createPool } from '../../src/db/database.js';
import { createLogger } from '../../src/logger.js';
import { createServices, type Services } from '../../src/services.js';
import { patient } from '../support/pools.js';
import { TEST_JWT_SECRET, TestClock } from '../support/test-app.js';
import type { TestDatabase } from '../support/test-database.js';
import { TEST_MODULES } from '../support/modules.js';

export interface Instance {
  readonly app: FastifyInstance;
  readonly services: Services;
  close(): Promise<void>;
}

export async function startInstance(database: TestDatabase, env: Record<string, string>): Promise<Instance> {
  // No load shedding, as in startTestApp: a busy test machine is not an overloaded server.
  const config = loadConfig({ TENANTRY_JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'silent', TENANTRY_MAX_EVENT_LOOP_DELAY_MS: '0', ...env });
  const logger = createLogger(config.logLevel);
  const pool = patient(createPool(database.url, 5, logger));
  const services = createServices({ modules: TEST_MODULES, config, jwt: config.jwt!, pool, clock: new TestClock(), logger });
  const app = await buildApp(services);
  await app.ready();
  return {
    app,
    services,
    async close() {
      await app.close();
      await pool.end();
    },
  };
}

/**
 * How long a change may take to reach the other instance: a third of its 30 s cache TTL, so
 * seeing the change in time is explained by invalidation alone, never by the entry expiring,
 * while a busy machine still has ample time to deliver the message.
 */
export const PROPAGATION_DEADLINE_MS = 10_000;

/** Polls `check` every 20 ms until it holds, failing after `timeoutMs` (in hooks too, unlike expect.poll). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = PROPAGATION_DEADLINE_MS): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`not seen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Waits until the instance's invalidation transport is connected (LISTEN / SUBSCRIBE done). */
export async function connected(services: Services): Promise<void> {
  await eventually(() => services.invalidation.connected, 30_000);
}
