// The outbox is a tenant table like any other: another tenant can neither read nor write a
// tenant's effects, with the query filter alone (RLS bypassed) and with RLS alone (filter off).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { platformTx, type Database } from '../../src/db/database.js';
import { recordEffect } from '../../src/outbox/record-effect.js';
import { asTenant, startIsolationHarness, type IsolationHarness } from '../support/isolation-harness.js';
import type { TestTables } from '../support/modules.js';

let harness: IsolationHarness;

beforeAll(async () => {
  harness = await startIsolationHarness();
});

afterAll(async () => {
  await harness.close();
});

async function outboxOfA(): Promise<unknown[]> {
  const { rows } = await harness.database.admin.query('SELECT * FROM outbox WHERE tenant_id = $1 ORDER BY created_at, id', [harness.a.tenantId]);
  return rows;
}

const modes: Record<string, () => Database<TestTables>> = {
  'query filter alone': () => harness.filterOnly(),
  'RLS alone': () => harness.rlsOnly(),
};

for (const [mode, makeDb] of Object.entries(modes)) {
  describe(`the outbox across tenants: ${mode}`, () => {
    it("shows B none of A's effects", async () => {
      const { a, b } = harness;
      expect(await outboxOfA()).not.toEqual([]);
      const rows = await asTenant(b, makeDb(), (tx) => tx.selectFrom('outbox').select(['tenant_id', 'payload']).execute());
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.every((row) => row.tenant_id === b.tenantId)).toBe(true);
      expect(JSON.stringify(rows)).not.toContain(`secret-outbox-${a.label}`);
    });

    it("refuses an effect B records under A's tenant, and changes nothing", async () => {
      const { a, b } = harness;
      const before = await outboxOfA();
      await expect(asTenant(b, makeDb(), (tx) => recordEffect(platformTx(tx), a.tenantId, { topic: 'test.forged', payload: {} }))).rejects.toThrow(
        /another tenant|row-level security/,
      );
      expect(await outboxOfA()).toEqual(before);
    });

    it("lets B neither stamp nor delete A's effects", async () => {
      const { a, b } = harness;
      const before = await outboxOfA();
      const stamped = await asTenant(b, makeDb(), (tx) =>
        tx.updateTable('outbox').set({ deleted_at: new Date() }).where('tenant_id', '=', a.tenantId).executeTakeFirst(),
      );
      expect(stamped.numUpdatedRows).toBe(0n);
      await asTenant(b, makeDb(), (tx) => tx.deleteFrom('outbox').where('tenant_id', '=', a.tenantId).execute()).catch((error: Error) => {
        // The app role may not delete outbox rows at all; the filter-alone mode runs as the owner.
        expect(error.message).toMatch(/permission denied/);
      });
      expect(await outboxOfA()).toEqual(before);
    });
  });
}
