// Child process for the job crash test: enqueues one tenant job in a committed unit of work and
// says "committed"; with "relay", a relay then adds the job to the queue, says "added" and never
// finishes the delivery. The parent kills it with SIGKILL at either point.
// Usage: <database url> <tenant id> <label> <commit|relay>

import { randomUUID } from 'node:crypto';
import pg from 'pg';
import pino from 'pino';
import { systemClock } from '../../../src/clock.js';
import { loadConfig } from '../../../src/config.js';
import { createPool, Database } from '../../../src/db/database.js';
import { JOB_ENQUEUE_TOPIC } from '../../../src/jobs/job-outbox.js';
import { Jobs } from '../../../src/jobs/jobs.js';
import { OutboxRelay } from '../../../src/outbox/outbox-relay.js';
import { runWithContext } from '../../../src/tenancy/context.js';
import { TEST_REGISTRY } from '../../support/modules.js';
import { TEST_ROLES } from '../../support/roles.js';
import { noteRun } from './test-jobs.js';

const [url, tenantId, label, mode] = process.argv.slice(2) as [string, string, string, 'commit' | 'relay'];
const logger = pino({ level: 'silent' });
const pool = createPool(url, 2, logger);
const db = new Database({ modules: TEST_REGISTRY, pool, roles: TEST_ROLES, logger });
const jobs = new Jobs({
  pool: new pg.Pool({ connectionString: url, max: 2 }),
  dependencies: { db, clock: systemClock, config: loadConfig({}), logger, modules: TEST_REGISTRY },
  definitions: [noteRun],
});

await runWithContext({ requestId: 'crash-test', tenantId }, () =>
  db.tenant((tx) => jobs.enqueue(tx, tenantId, noteRun, { label, projectId: randomUUID() })),
);
process.stdout.write('committed\n');

if (mode === 'relay') {
  const relay = new OutboxRelay({
    pool,
    serviceRole: TEST_ROLES.service,
    logger,
    consumers: new Map([
      [
        JOB_ENQUEUE_TOPIC,
        async (message) => {
          await jobs.outboxConsumer(message);
          process.stdout.write('added\n');
          await new Promise<void>(() => {});
        },
      ],
    ]),
    deliveryTimeoutMs: 3_600_000,
  });
  void relay.drain();
}
// Stays alive until killed.
setInterval(() => {}, 60_000);
