// A process killed (SIGKILL) after its change committed, before the effect was delivered or
// while it was being delivered, still produces the effect: exactly once, by the next relay.

import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutboxMessage } from '../../src/outbox/outbox-message.js';
import { killAfter } from '../support/kill-after.js';
import { eventually, startOutboxFixture, type OutboxFixture } from './support/outbox-fixture.js';

const CHILD = fileURLToPath(new URL('./support/commit-then-crash.ts', import.meta.url));

let fixture: OutboxFixture;

beforeAll(async () => {
  fixture = await startOutboxFixture();
});

afterAll(async () => {
  await fixture.close();
});

/** Runs the child until it prints `line`, then kills it with SIGKILL. */
function crashAfter(tenantId: string, mode: 'commit' | 'relay', line: string): Promise<void> {
  return killAfter(CHILD, [fixture.database.url, tenantId, mode], line);
}

async function deliverWithFreshRelay(): Promise<OutboxMessage[]> {
  const delivered: OutboxMessage[] = [];
  const relay = fixture.relay({ 'test.crash': async (message) => void delivered.push(message) });
  // The dead process's transaction (and its tenant lock) goes when PostgreSQL notices the
  // closed socket; until then the tenant is skipped, not delivered twice.
  await eventually(async () => {
    await relay.drain();
    return delivered.length > 0;
  }, 30_000);
  expect(await relay.drain()).toBe(0);
  return delivered;
}

describe('an effect whose process died after commit', () => {
  it('is delivered exactly once by the next relay when the process died before any relay ran', async () => {
    const tenantId = await fixture.newTenant();
    await crashAfter(tenantId, 'commit', 'committed');
    expect(await fixture.rows()).toMatchObject([{ tenant_id: tenantId, topic: 'test.crash', attempts: 0 }]);
    const delivered = await deliverWithFreshRelay();
    expect(delivered).toMatchObject([{ tenantId, topic: 'test.crash', payload: { n: 1 } }]);
    expect(await fixture.rows()).toEqual([]);
  });

  it('is delivered exactly once by the next relay when the process died in the middle of delivering it', async () => {
    const tenantId = await fixture.newTenant();
    await crashAfter(tenantId, 'relay', 'delivering');
    const delivered = await deliverWithFreshRelay();
    expect(delivered).toMatchObject([{ tenantId, topic: 'test.crash', payload: { n: 1 }, attempts: 0 }]);
    expect(await fixture.rows()).toEqual([]);
  });
});
