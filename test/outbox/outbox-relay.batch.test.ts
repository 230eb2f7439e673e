// Batch consumers: a pass hands a topic's consumer all its due rows at once, across tenants;
// a tenant's rows keep their order when topics with and without a batch consumer interleave;
// a failing batch is retried tenant by tenant, so a bad row holds back only its own tenant; a
// batch consumer writes in the pass's transaction (kept with the pass, rolled back to before a
// failed call, which leaves the pass standing) and its after-commit effects run only once the
// pass has committed.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { OutboxBatchConsumer, OutboxMessage } from '../../src/outbox/outbox-message.js';
import { startOutboxFixture, type OutboxFixture } from './support/outbox-fixture.js';

let fixture: OutboxFixture;

beforeAll(async () => {
  fixture = await startOutboxFixture();
});

afterEach(async () => {
  await fixture.database.admin.query('DELETE FROM outbox');
});

afterAll(async () => {
  await fixture.close();
});

/** Everything delivered, in delivery order, as "<topic>:<n>" per tenant; and each batch call's size. */
function recorder() {
  const delivered: Array<{ tenantId: string; label: string }> = [];
  const batchSizes: number[] = [];
  const note = (message: OutboxMessage) => delivered.push({ tenantId: message.tenantId, label: `${message.topic}:${(message.payload as { n: number }).n}` });
  const batch: OutboxBatchConsumer = async (messages) => {
    batchSizes.push(messages.length);
    for (const message of messages) note(message);
  };
  const single = async (message: OutboxMessage) => {
    note(message);
  };
  const of = (tenantId: string) => delivered.filter((entry) => entry.tenantId === tenantId).map((entry) => entry.label);
  return { batch, single, batchSizes, of };
}

describe('an outbox topic with a batch consumer', () => {
  it("gets a pass's rows of its topic from every tenant in one call", async () => {
    const tenants = [await fixture.newTenant(), await fixture.newTenant(), await fixture.newTenant()];
    for (let n = 1; n <= 4; n++) for (const tenantId of tenants) await fixture.record(tenantId, 'test.batch', { n });
    const { batch, batchSizes, of } = recorder();
    const relay = fixture.relay({}, { batchConsumers: new Map([['test.batch', batch]]) });
    expect(await relay.drain()).toBe(12);
    expect(batchSizes).toEqual([12]);
    for (const tenantId of tenants) expect(of(tenantId)).toEqual([1, 2, 3, 4].map((n) => `test.batch:${n}`));
    expect(await fixture.rows()).toEqual([]);
  });

  it("keeps each tenant's order where batch and one-at-a-time topics interleave", async () => {
    const [a, b] = [await fixture.newTenant(), await fixture.newTenant()];
    const written = { [a]: [] as string[], [b]: [] as string[] };
    const plan: Array<[string, string]> = [
      [a, 'test.batch'], [a, 'test.batch'], [a, 'test.effect'], [a, 'test.batch'], [a, 'test.effect'], [a, 'test.effect'], [a, 'test.batch'],
      [b, 'test.batch'], [b, 'test.batch'], [b, 'test.batch'], [b, 'test.effect'], [b, 'test.batch'],
    ];
    for (const [index, [tenantId, topic]] of plan.entries()) {
      await fixture.record(tenantId, topic, { n: index });
      written[tenantId]!.push(`${topic}:${index}`);
    }
    const { batch, single, batchSizes, of } = recorder();
    const relay = fixture.relay({ 'test.effect': single }, { batchConsumers: new Map([['test.batch', batch]]) });
    expect(await relay.drain()).toBe(plan.length);
    expect(of(a)).toEqual(written[a]);
    expect(of(b)).toEqual(written[b]);
    // Round by round: A's run of two with B's run of three, then one of each, then A's last.
    expect(batchSizes).toEqual([5, 2, 1]);
  });

  it('retries a failed batch tenant by tenant: a bad row holds back its own tenant only', async () => {
    const [a, b] = [await fixture.newTenant(), await fixture.newTenant()];
    await fixture.record(a, 'test.batch', { n: 1 });
    await fixture.record(a, 'test.batch', { n: 2, poison: true });
    await fixture.record(a, 'test.batch', { n: 3 });
    await fixture.record(b, 'test.batch', { n: 1 });
    await fixture.record(b, 'test.batch', { n: 2 });
    const { batch, of } = recorder();
    const picky: OutboxBatchConsumer = async (messages, pass) => {
      if (messages.some((message) => (message.payload as { poison?: boolean }).poison)) throw new Error('cannot take this one');
      await batch(messages, pass);
    };
    const relay = fixture.relay({}, { batchConsumers: new Map([['test.batch', picky]]), baseBackoffMs: 60_000 });
    expect(await relay.drain()).toBe(3);
    expect(of(a)).toEqual(['test.batch:1']);
    expect(of(b)).toEqual(['test.batch:1', 'test.batch:2']);
    const left = await fixture.rows();
    expect(left.map((row) => [row.tenant_id, (row.payload as { n: number }).n, row.attempts])).toEqual([
      [a, 2, 1],
      [a, 3, 0],
    ]);
    expect(left[0]).toMatchObject({ last_error: 'cannot take this one', dead_at: null });
  });

  it("keeps what a batch consumer writes in the pass's transaction, and rolls back a failed call's writes without stopping the pass", async () => {
    const [a, b] = [await fixture.newTenant(), await fixture.newTenant()];
    await fixture.record(a, 'test.batch', { n: 1, poison: true });
    await fixture.record(b, 'test.batch', { n: 1 });
    // Each call writes a follow-up row in the pass (the service role may insert outbox rows),
    // then fails if it holds the poison, after a statement that aborts its part of the transaction.
    const writer: OutboxBatchConsumer = async (messages, pass) => {
      for (const message of messages) {
        await pass.query(`INSERT INTO outbox (tenant_id, id, topic, payload) VALUES ($1, gen_random_uuid(), 'test.followup', '{}')`, [message.tenantId]);
      }
      if (messages.some((message) => (message.payload as { poison?: boolean }).poison)) await pass.query('SELECT 1 / 0');
    };
    const relay = fixture.relay({}, { batchConsumers: new Map([['test.batch', writer]]), baseBackoffMs: 60_000 });
    await relay.drain();
    const left = await fixture.rows();
    // b's row is delivered and its follow-up kept (nobody consumes that topic: it waits);
    // a's row failed and left no follow-up, and its attempt counted: the pass went on after
    // the rollback to the call's savepoint.
    expect(left.map((row) => [row.tenant_id, row.topic]).sort()).toEqual([[a, 'test.batch'], [b, 'test.followup']].sort());
    expect(left.find((row) => row.tenant_id === a)).toMatchObject({ attempts: 1, last_error: 'division by zero' });
  });

  it('runs after-commit effects once the pass has committed, and never those of a failed call', async () => {
    const [a, b] = [await fixture.newTenant(), await fixture.newTenant()];
    await fixture.record(a, 'test.batch', { n: 1, poison: true });
    await fixture.record(b, 'test.batch', { n: 1 });
    const ran: Array<{ tenantId: string; rowsLeftOfTenant: number }> = [];
    const announcing: OutboxBatchConsumer = async (messages, pass) => {
      for (const message of messages) {
        pass.afterCommit(async () => {
          // From another connection: the pass's deletion of the row is visible, so it has committed.
          const { rows } = await fixture.database.admin.query('SELECT 1 FROM outbox WHERE tenant_id = $1', [message.tenantId]);
          ran.push({ tenantId: message.tenantId, rowsLeftOfTenant: rows.length });
        });
      }
      if (messages.some((message) => (message.payload as { poison?: boolean }).poison)) throw new Error('cannot take this one');
    };
    const relay = fixture.relay({}, { batchConsumers: new Map([['test.batch', announcing]]), baseBackoffMs: 60_000 });
    await relay.drain();
    expect(ran).toEqual([{ tenantId: b, rowsLeftOfTenant: 0 }]);
  });

  it('refuses statements from a batch call given up on (timed out), so it cannot write into the pass or after it', async () => {
    const tenantId = await fixture.newTenant();
    await fixture.record(tenantId, 'test.batch', { n: 1 });
    let late: unknown;
    let wrote = false;
    const slow: OutboxBatchConsumer = async (messages, pass) => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      try {
        await pass.query(`INSERT INTO outbox (tenant_id, id, topic, payload) VALUES ($1, gen_random_uuid(), 'test.followup', '{}')`, [messages[0]!.tenantId]);
        wrote = true;
      } catch (error) {
        late = error;
      }
    };
    const relay = fixture.relay({}, { batchConsumers: new Map([['test.batch', slow]]), deliveryTimeoutMs: 100, baseBackoffMs: 60_000 });
    await relay.drain();
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(wrote).toBe(false);
    expect(String(late)).toContain('the outbox pass has ended');
    const left = await fixture.rows();
    expect(left.map((row) => [row.topic, row.attempts])).toEqual([['test.batch', 1]]);
  });
});
