// Child process for the crash test: records one effect in a committed unit of work, says so on
// stdout, then (with "relay") starts a relay whose consumer says "delivering" and never returns.
// The parent kills it with SIGKILL at either point. Usage: <database url> <tenant id> <commit|relay>

import pino from 'pino';
import { createPool, Database } from '../../../src/db/database.js';
import { OutboxRelay } from '../../../src/outbox/outbox-relay.js';
import { recordEffect } from '../../../src/outbox/record-effect.js';
import { runWithContext } from '../../../src/tenancy/context.js';
import { TEST_ROLES } from '../../support/roles.js';
import { TEST_REGISTRY } from '../../support/modules.js';

const [url, tenantId, mode] = process.argv.slice(2) as [string, string, 'commit' | 'relay'];
const logger = pino({ level: 'silent' });
const pool = createPool(url, 2, logger);
const db = new Database({ modules: TEST_REGISTRY, pool, roles: TEST_ROLES, logger });

await runWithContext({ requestId: 'crash-test', tenantId }, () =>
  db.tenant((tx) => recordEffect(tx, tenantId, { topic: 'test.crash', payload: { n: 1 } })),
);
process.stdout.write('committed\n');

if (mode === 'relay') {
  const relay = new OutboxRelay({
    pool,
    serviceRole: TEST_ROLES.service,
    logger,
    consumers: new Map([
      [
        'test.crash',
        () => {
          process.stdout.write('delivering\n');
          return new Promise<void>(() => {});
        },
      ],
    ]),
    deliveryTimeoutMs: 3_600_000,
  });
  void relay.drain();
}
// Stays alive until killed.
setInterval(() => {}, 60_000);
