// The relay: nothing recorded by a unit that rolls back; each tenant's effects delivered in
// the order recorded and deleted once delivered; NOTIFY wakes it; failures retried with backoff
// while the tenant's later effects wait and other tenants go on; a poison effect is parked; two
// relays never deliver one tenant at once nor anything twice.

import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../src/db/database.js';
import { recordEffect } from '../../src/outbox/record-effect.js';
import type { OutboxMessage } from '../../src/outbox/outbox-message.js';
import { runWithContext } from '../../src/tenancy/context.js';
import { patient } from '../support/pools.js';
import { eventually, startOutboxFixture, type OutboxFixture } from './support/outbox-fixture.js';

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

/** A consumer that remembers what it was given, as "<tenant>:<n>". */
function collector() {
  const delivered: Array<{ tenantId: string; n: number }> = [];
  const consume = async (message: OutboxMessage) => {
    delivered.push({ tenantId: message.tenantId, n: (message.payload as { n: number }).n });
  };
  const of = (tenantId: string) => delivered.filter((entry) => entry.tenantId === tenantId).map((entry) => entry.n);
  return { delivered, consume, of };
}

/** Counts the relay's wake-up NOTIFYs, as a relay in another process would hear them. */
async function notifications() {
  const client = new pg.Client({ connectionString: fixture.database.url });
  await client.connect();
  let count = 0;
  client.on('notification', (message) => {
    if (message.channel === 'tenantry_outbox') count += 1;
  });
  await client.query('LISTEN tenantry_outbox');
  return {
    count: () => count,
    /** A round trip on the listening connection: a NOTIFY committed before now has arrived. */
    settle: async () => {
      await client.query('SELECT 1');
    },
    close: () => client.end(),
  };
}

describe('recording an effect', () => {
  it('records nothing when the unit of work rolls back', async () => {
    const tenantId = await fixture.newTenant();
    const failing = runWithContext({ requestId: 'rollback', tenantId }, () =>
      fixture.db.tenant(async (tx) => {
        await recordEffect(tx, tenantId, { topic: 'test.effect', payload: { n: 1 } });
        throw new Error('the change failed');
      }),
    );
    await expect(failing).rejects.toThrow('the change failed');
    expect(await fixture.rows()).toEqual([]);
    const { consume, delivered } = collector();
    expect(await fixture.relay({ 'test.effect': consume }).drain()).toBe(0);
    expect(delivered).toEqual([]);
  });
});

describe('the outbox relay', () => {
  it("delivers each tenant's effects in the order they were recorded, once, and deletes them", async () => {
    const [a, b] = [await fixture.newTenant(), await fixture.newTenant()];
    for (let n = 1; n <= 5; n++) {
      await fixture.record(a, 'test.effect', { n });
      await fixture.record(b, 'test.effect', { n: n * 10 });
    }
    const { consume, of } = collector();
    const relay = fixture.relay({ 'test.effect': consume }, { rowsPerTenant: 2 });
    expect(await relay.drain()).toBe(10);
    expect(of(a)).toEqual([1, 2, 3, 4, 5]);
    expect(of(b)).toEqual([10, 20, 30, 40, 50]);
    expect(await fixture.rows()).toEqual([]);
    expect(await relay.drain()).toBe(0);
  });

  it("is woken by another process's commit (NOTIFY), not by its poll", async () => {
    const tenantId = await fixture.newTenant();
    const { consume, of } = collector();
    const relay = fixture.relay({ 'test.effect': consume }, { pollIntervalMs: 3_600_000 });
    relay.start();
    try {
      await eventually(() => relay.listening);
      // What recordEffect commits in a process that runs no relay (a CLI, an older instance).
      await fixture.database.admin.query(
        `BEGIN; INSERT INTO outbox (tenant_id, id, topic, payload) VALUES ('${tenantId}', gen_random_uuid(), 'test.effect', '{"n":7}'); SELECT pg_notify('tenantry_outbox', ''); COMMIT`,
      );
      await eventually(() => of(tenantId).length === 1);
      expect(of(tenantId)).toEqual([7]);
    } finally {
      await relay.stop();
    }
  });

  it("is woken in memory by its own process's commit, which sends no NOTIFY (NOTIFY serialises commits)", async () => {
    const tenantId = await fixture.newTenant();
    const { consume, of } = collector();
    const relay = fixture.relay({ 'test.effect': consume }, { pollIntervalMs: 3_600_000 });
    const heard = await notifications();
    relay.start();
    try {
      await fixture.record(tenantId, 'test.effect', { n: 8 });
      await eventually(() => of(tenantId).length === 1);
      expect(of(tenantId)).toEqual([8]);
      await heard.settle();
      expect(heard.count()).toBe(0);
    } finally {
      await relay.stop();
      await heard.close();
    }
  });

  it('runs one pass for the commit that woke it, not another that finds nothing', async () => {
    const tenantId = await fixture.newTenant();
    const { consume, of } = collector();
    // The relay checks a connection out of its pool once a pass.
    const pool = patient(createPool(fixture.database.url, 2, fixture.logger));
    let passes = 0;
    const connect = pool.connect.bind(pool) as () => Promise<pg.PoolClient>;
    pool.connect = (() => ((passes += 1), connect())) as typeof pool.connect;
    const relay = fixture.relay({ 'test.effect': consume }, { pollIntervalMs: 3_600_000 }, pool);
    relay.start();
    try {
      await eventually(() => relay.listening);
      // The passes of its start and of LISTEN in place are over once none begins for a while.
      for (let seen = -1; seen !== passes; ) {
        seen = passes;
        await sleep(300);
      }
      passes = 0;
      await fixture.record(tenantId, 'test.effect', { n: 1 });
      await eventually(() => of(tenantId).length === 1);
      await sleep(300);
      expect(passes).toBe(1);
    } finally {
      await relay.stop();
    }
  });

  it('delivers a tenant another relay held when it was woken soon after that relay lets go, not at its next poll', async () => {
    const tenantId = await fixture.newTenant();
    const { consume, of } = collector();
    const relay = fixture.relay({ 'test.effect': consume }, { pollIntervalMs: 3_600_000 });
    // Another relay's pass, holding the tenant's lock (its read done before the commit below).
    const other = await fixture.database.admin.connect();
    relay.start();
    try {
      await eventually(() => relay.listening);
      await other.query('BEGIN');
      await other.query(`SELECT pg_advisory_xact_lock(x'6f757462'::int, hashtext($1::text))`, [tenantId]);
      await fixture.record(tenantId, 'test.effect', { n: 1 });
      // The pass it was woken for skipped the tenant; no commit comes to wake it again.
      await sleep(300);
      expect(of(tenantId)).toEqual([]);
      const released = performance.now();
      await other.query('COMMIT');
      await eventually(() => of(tenantId).length === 1, 5_000);
      // Retries back off from 5 ms while the tenant stays held (here 300 ms: the next is at most ~320 ms later).
      expect(performance.now() - released).toBeLessThan(1_500);
      expect(of(tenantId)).toEqual([1]);
    } finally {
      other.release();
      await relay.stop();
    }
  });

  it('sends NOTIFY from the transaction when no relay runs in the process, and only if it commits', async () => {
    const tenantId = await fixture.newTenant();
    const heard = await notifications();
    try {
      await runWithContext({ requestId: 'outbox-test', tenantId }, () =>
        fixture.db.tenant(async (tx) => {
          await recordEffect(tx, tenantId, { topic: 'test.effect', payload: { n: 1 } });
          throw new Error('roll back');
        }),
      ).catch(() => {});
      await heard.settle();
      expect(heard.count()).toBe(0);
      await fixture.record(tenantId, 'test.effect', { n: 9 });
      await eventually(() => heard.count() === 1);
    } finally {
      await heard.close();
    }
  });

  it("retries a failing effect with backoff, holds the tenant's later effects behind it, and serves other tenants meanwhile", async () => {
    const [a, b] = [await fixture.newTenant(), await fixture.newTenant()];
    await fixture.record(a, 'test.effect', { n: 1 });
    await fixture.record(a, 'test.effect', { n: 2 });
    await fixture.record(b, 'test.effect', { n: 1 });
    const { consume, of } = collector();
    let failuresLeft = 2;
    const flaky = async (message: OutboxMessage) => {
      if (message.tenantId === a && (message.payload as { n: number }).n === 1 && failuresLeft > 0) {
        failuresLeft -= 1;
        throw new Error('downstream unavailable');
      }
      await consume(message);
    };
    const relay = fixture.relay({ 'test.effect': flaky }, { baseBackoffMs: 1_000 });
    await relay.drain();
    expect(of(b)).toEqual([1]);
    expect(of(a)).toEqual([]);
    const head = (await fixture.rows()).find((row) => row.tenant_id === a)!;
    expect(head).toMatchObject({ attempts: 1, last_error: 'downstream unavailable', dead_at: null });
    // Backing off: a pass right now leaves it alone.
    await relay.drain();
    expect((await fixture.rows()).find((row) => row.tenant_id === a)).toMatchObject({ attempts: 1 });
    await eventually(async () => {
      await relay.drain();
      return of(a).length === 2;
    });
    expect(of(a)).toEqual([1, 2]);
    expect(failuresLeft).toBe(0);
    expect(fixture.logs()).toContain('outbox delivery failed; retrying with backoff');
    expect(await fixture.rows()).toEqual([]);
  });

  it("parks a poison effect after its last attempt, logs it, and goes on with the tenant's later effects", async () => {
    const tenantId = await fixture.newTenant();
    await fixture.record(tenantId, 'test.nobody-consumes-this', { n: 1 });
    await fixture.record(tenantId, 'test.effect', { n: 2 });
    const { consume, of } = collector();
    const relay = fixture.relay({ 'test.effect': consume }, { maxAttempts: 3, baseBackoffMs: 1 });
    await eventually(async () => {
      await relay.drain();
      return of(tenantId).length === 1;
    });
    expect(of(tenantId)).toEqual([2]);
    const parked = await fixture.rows();
    expect(parked).toHaveLength(1);
    expect(parked[0]).toMatchObject({ topic: 'test.nobody-consumes-this', attempts: 3, last_error: 'no consumer for outbox topic "test.nobody-consumes-this"' });
    expect(parked[0]!.dead_at).toBeInstanceOf(Date);
    expect(fixture.logs()).toContain("outbox message parked after its last attempt; the tenant's later messages go on");
    expect(await relay.drain()).toBe(0);
  });

  it('serves the tenants waiting longest first when more are due than a pass takes', async () => {
    // Tenant ids in ascending order, each tenant's one effect recorded in the reverse order: the
    // highest id waited longest. (Taken by id, the lowest would go first at every pass, and a
    // backlog would keep the highest waiting.)
    const tenants = (await Promise.all(Array.from({ length: 4 }, () => fixture.newTenant()))).sort();
    for (const [n, tenantId] of [...tenants].reverse().entries()) await fixture.record(tenantId, 'test.effect', { n });
    const { consume, delivered } = collector();
    // The relay's tenant locks held while it delivers: the pass's one, not every due tenant's.
    const locksHeld: number[] = [];
    const countingLocks = async (message: OutboxMessage) => {
      const { rows } = await fixture.database.admin.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND classid = x'6f757462'::int::oid AND objsubid = 2`,
      );
      locksHeld.push(rows[0]!.n);
      await consume(message);
    };
    const relay = fixture.relay({ 'test.effect': countingLocks }, { tenantsPerPass: 1 });
    expect(await relay.drain()).toBe(4);
    expect(delivered.map((entry) => entry.tenantId)).toEqual([...tenants].reverse());
    expect(locksHeld).toEqual([1, 1, 1, 1]);
  });

  it("never has two relays deliver one tenant's effects at once, nor any effect twice", async () => {
    const tenants = [await fixture.newTenant(), await fixture.newTenant(), await fixture.newTenant()];
    const perTenant = 15;
    for (let n = 1; n <= perTenant; n++) for (const tenantId of tenants) await fixture.record(tenantId, 'test.effect', { n });
    const delivered: Array<{ tenantId: string; n: number; relay: number }> = [];
    const inFlight = new Map<string, number>();
    let overlap = 0;
    const consumerOf = (relay: number) => async (message: OutboxMessage) => {
      const now = (inFlight.get(message.tenantId) ?? 0) + 1;
      inFlight.set(message.tenantId, now);
      if (now > 1) overlap += 1;
      await sleep(2);
      delivered.push({ tenantId: message.tenantId, n: (message.payload as { n: number }).n, relay });
      inFlight.set(message.tenantId, (inFlight.get(message.tenantId) ?? 1) - 1);
    };
    // Two relays as two processes would have them: each its own pool, small passes.
    const options = { tenantsPerPass: 2, rowsPerTenant: 3 };
    const first = fixture.relay({ 'test.effect': consumerOf(1) }, options);
    const second = fixture.relay({ 'test.effect': consumerOf(2) }, options, patient(createPool(fixture.database.url, 3, fixture.logger)));
    await eventually(async () => {
      await Promise.all([first.drain(), second.drain()]);
      return delivered.length >= tenants.length * perTenant;
    }, 60_000);
    expect(overlap).toBe(0);
    expect(delivered).toHaveLength(tenants.length * perTenant);
    for (const tenantId of tenants) {
      expect(delivered.filter((entry) => entry.tenantId === tenantId).map((entry) => entry.n)).toEqual(
        Array.from({ length: perTenant }, (_, index) => index + 1),
      );
    }
    expect(await fixture.rows()).toEqual([]);
  });
});
