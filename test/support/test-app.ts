// Builds a real Tenantry app on a fresh test database, with a clock tests can move and a
// log stream tests can read. Requests go through app.inject(): the full HTTP pipeline.

import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import type { Clock } from '../../src/clock.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createPool, createQueuePool } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { defineModule, type TenantryModule } from '../../src/modules/module.js';
import { asRole } from '../../src/db/open-database.js';
import { createLogger } from '../../src/logger.js';
import { createServices, type Services } from '../../src/services.js';
import { patient, TEST_CHECKOUT_TIMEOUT_MS } from './pools.js';
import { TEST_LOGIN_PASSWORD, TEST_ROLES, TEST_SERVICE_LOGIN_PASSWORD } from './roles.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';
import { TEST_MODULES } from './modules.js';

/** Real time plus what a test moved it by; frozen, only what the test moved it by. */
export class TestClock implements Clock {
  #offsetMs = 0;
  #frozenAt: number | undefined;
  now(): Date {
    return new Date((this.#frozenAt ?? Date.now()) + this.#offsetMs);
  }
  advance(seconds: number): void {
    this.#offsetMs += seconds * 1000;
  }
  /**
   * Stops real time for this clock (advance() still moves it): a check one second before a
   * deadline must not depend on how long the machine took to get there.
   */
  freeze(): this {
    this.#frozenAt ??= Date.now();
    return this;
  }
}

export interface TestApp {
  readonly app: FastifyInstance;
  readonly services: Services;
  readonly database: TestDatabase;
  readonly clock: TestClock;
  /** Every log line written so far, as raw JSON text. */
  logs(): string;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /**
   * Registers test-only routes (e.g. one that enqueues a job) as one more module, so they sit
   * inside Tenantry's plugin like any module's routes: access control, validation, problems.
   */
  readonly extend?: (app: FastifyInstance, services: Services) => void | Promise<void>;
  /**
   * The modules to run (the built-in ones by default). Those the template lacks are migrated
   * onto this file's database first, as adding a module to a running deployment would.
   */
  readonly modules?: readonly TenantryModule[];
  /** Builds the HTTP app (Tenantry's own by default): a host app with the plugin inside. */
  readonly build?: (services: Services) => Promise<FastifyInstance>;
}

export const TEST_JWT_SECRET = 'test-secret-that-is-at-least-32-bytes-long!';

/** Connections in a test app's request pool. */
export const TEST_POOL_SIZE = 10;

export async function startTestApp(env: Record<string, string> = {}, options: TestAppOptions = {}): Promise<TestApp> {
  const database = await createTestDatabase();
  const declared = options.modules ?? TEST_MODULES;
  const { extend } = options;
  const modules = extend ? [...declared, defineModule({ name: 'test_routes', compose: (services) => ({ services }), routes: async (app, { services }) => extend(app, services) })] : declared;
  if (options.modules) {
    await migrate({
      databaseUrl: database.url,
      roles: TEST_ROLES,
      modules: declared,
      loginPassword: TEST_LOGIN_PASSWORD,
      serviceLoginPassword: TEST_SERVICE_LOGIN_PASSWORD,
    });
  }
  // Rate limits are off unless a test turns them on (test/ratelimit): the free plan's 60
  // requests per minute would otherwise throttle tests that build data through the API.
  // Load shedding is off and connections are waited for TEST_CHECKOUT_TIMEOUT_MS unless a
  // test says otherwise (test/faults): the suite runs on a shared, busy machine.
  const config: Config = loadConfig({
    TENANTRY_JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: 'debug',
    TENANTRY_RATE_LIMITS: 'false',
    TENANTRY_MAX_EVENT_LOOP_DELAY_MS: '0',
    TENANTRY_DB_CONNECT_TIMEOUT_MS: String(TEST_CHECKOUT_TIMEOUT_MS),
    ...env,
  });
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  const logger = createLogger(config.logLevel, sink);
  // As in production: requests log in as the login role, which holds no privileges of its
  // own outside a scoped transaction, service work as the service login, and the job queue
  // uses the administrative login.
  const pool = createPool(asRole(database.url, TEST_ROLES.login, TEST_LOGIN_PASSWORD), TEST_POOL_SIZE, logger, config.databaseLimits);
  const servicePool = createPool(
    asRole(database.url, TEST_ROLES.serviceLogin, TEST_SERVICE_LOGIN_PASSWORD),
    4,
    logger,
    config.databaseLimits,
  );
  // The queue pool's bound is fixed (QUEUE_LIMITS): a busy machine gets the tests' own.
  const queuePool = patient(createQueuePool(database.url, logger));
  const clock = new TestClock();
  const services = createServices({ modules, config, jwt: config.jwt!, pool, servicePool, queuePool, clock, logger });
  const app = await (options.build ?? buildApp)(services);
  await app.ready();
  const testApp: TestApp = {
    app,
    services,
    database,
    clock,
    logs: () => chunks.join(''),
    async close() {
      await app.close();
      await pool.end();
      await servicePool.end();
      await queuePool.end();
      await database.drop();
    },
  };
  running.set(app, testApp);
  return testApp;
}

/** The test apps by their Fastify instance: fixtures that take only `app` find the rest here. */
const running = new WeakMap<FastifyInstance, TestApp>();

export function testAppOf(app: FastifyInstance): TestApp {
  const testApp = running.get(app);
  if (!testApp) throw new Error('this fixture needs an app started with startTestApp()');
  return testApp;
}
