// A test database with bare tenants (no seeded rows, so no outbox rows but the test's own), a
// Database on it, and helpers to record effects and build relays the way the server does.

import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import pino, { type Logger } from 'pino';
import { Writable } from 'node:stream';
import { createPool, Database } from '../../../src/db/database.js';
import { OutboxRelay, type OutboxRelayOptions } from '../../../src/outbox/outbox-relay.js';
import type { OutboxConsumer } from '../../../src/outbox/outbox-message.js';
import { recordEffect } from '../../../src/outbox/record-effect.js';
import { runWithContext } from '../../../src/tenancy/context.js';
import { patient } from '../../support/pools.js';
import { TEST_ROLES } from '../../support/roles.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';
import { TEST_REGISTRY } from '../../support/modules.js';

export interface OutboxFixture {
  readonly database: TestDatabase;
  readonly pool: pg.Pool;
  readonly db: Database;
  readonly logger: Logger;
  /** Every log line so far, as raw JSON text. */
  logs(): string;
  newTenant(): Promise<string>;
  record(tenantId: string, topic: string, payload: unknown): Promise<void>;
  relay(consumers: Record<string, OutboxConsumer>, options?: Partial<OutboxRelayOptions>, pool?: pg.Pool): OutboxRelay;
  /** The outbox as the superuser sees it, oldest first. */
  rows(): Promise<Array<{ tenant_id: string; topic: string; payload: unknown; attempts: number; dead_at: Date | null; last_error: string | null }>>;
  close(): Promise<void>;
}

export async function startOutboxFixture(): Promise<OutboxFixture> {
  const database = await createTestDatabase();
  const chunks: string[] = [];
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk, _encoding, done) {
        chunks.push(String(chunk));
        done();
      },
    }),
  );
  const pool = patient(createPool(database.url, 6, logger));
  const db = new Database({ modules: TEST_REGISTRY, pool, roles: TEST_ROLES, logger });
  const extraPools: pg.Pool[] = [];
  return {
    database,
    pool,
    db,
    logger,
    logs: () => chunks.join(''),
    async newTenant() {
      const id = randomUUID();
      await database.admin.query('INSERT INTO tenants (id, name, slug) VALUES ($1, $2, $3)', [id, 'Outbox tenant', `outbox-${id.slice(0, 8)}`]);
      return id;
    },
    record(tenantId, topic, payload) {
      return runWithContext({ requestId: 'outbox-test', tenantId }, () => db.tenant((tx) => recordEffect(tx, tenantId, { topic, payload })));
    },
    relay(consumers, options = {}, relayPool = pool) {
      if (relayPool !== pool) extraPools.push(relayPool);
      return new OutboxRelay({
        pool: relayPool,
        serviceRole: TEST_ROLES.service,
        logger,
        consumers: new Map(Object.entries(consumers)),
        // Tests drain explicitly unless they say otherwise.
        pollIntervalMs: 3_600_000,
        baseBackoffMs: 20,
        ...options,
      });
    },
    async rows() {
      const { rows } = await database.admin.query('SELECT tenant_id, topic, payload, attempts, dead_at, last_error FROM outbox ORDER BY created_at, id');
      return rows;
    },
    async close() {
      for (const extra of extraPools) await extra.end();
      await pool.end();
      await database.drop();
    },
  };
}

/** Polls `check` every 20 ms until it holds, failing after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`not seen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
