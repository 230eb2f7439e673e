// afterCommit(tx, effect): in-process work that runs once the unit commits, in the order
// registered, never after a rollback, and whose failure is logged, not thrown at the caller.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { afterCommit } from '../../src/db/database.js';
import { TenantScopeViolation } from '../../src/db/tenant-scope-plugin.js';
import { runWithContext } from '../../src/tenancy/context.js';
import { startOutboxFixture, type OutboxFixture } from './support/outbox-fixture.js';

let fixture: OutboxFixture;
let tenantId: string;

beforeAll(async () => {
  fixture = await startOutboxFixture();
  tenantId = await fixture.newTenant();
});

afterAll(async () => {
  await fixture.close();
});

function asTenant<T>(work: Parameters<OutboxFixture['db']['tenant']>[0]) {
  return runWithContext({ requestId: 'after-commit-test', tenantId }, () => fixture.db.tenant(work)) as Promise<T>;
}

async function tenantName(): Promise<string> {
  const { rows } = await fixture.database.admin.query('SELECT name FROM tenants WHERE id = $1', [tenantId]);
  return rows[0].name;
}

describe('afterCommit', () => {
  it('runs the effects after COMMIT, in the order registered, before the unit resolves', async () => {
    const seen: string[] = [];
    await asTenant(async (tx) => {
      await tx.updateTable('tenants').set({ name: 'Committed' }).where('id', '=', tenantId).execute();
      afterCommit(tx, async () => seen.push(`first saw ${await tenantName()}`));
      afterCommit(tx, () => seen.push('second'));
      expect(seen).toEqual([]);
    });
    // The superuser's read on another connection sees the change: the effect ran after commit.
    expect(seen).toEqual(['first saw Committed', 'second']);
  });

  it('never runs the effects when the unit rolls back', async () => {
    let ran = false;
    const failing = asTenant(async (tx) => {
      await tx.updateTable('tenants').set({ name: 'Rolled back' }).where('id', '=', tenantId).execute();
      afterCommit(tx, () => {
        ran = true;
      });
      throw new Error('the work failed');
    });
    await expect(failing).rejects.toThrow('the work failed');
    expect(ran).toBe(false);
    expect(await tenantName()).toBe('Committed');
  });

  it('logs a failing effect, runs the next ones, and still resolves the committed unit', async () => {
    const seen: string[] = [];
    const result = await asTenant(async (tx) => {
      afterCommit(tx, () => {
        throw new Error('effect exploded');
      });
      afterCommit(tx, () => seen.push('after the failure'));
      return 'the result';
    });
    expect(result).toBe('the result');
    expect(seen).toEqual(['after the failure']);
    expect(fixture.logs()).toContain('after-commit effect failed');
    expect(fixture.logs()).toContain('effect exploded');
  });

  it('runs after a service unit commits as well', async () => {
    let ran = false;
    await fixture.db.service('test: after-commit in a service unit', async (tx) => {
      afterCommit(tx, () => {
        ran = true;
      });
    });
    expect(ran).toBe(true);
  });

  it('refuses a handle whose unit has ended', async () => {
    const tx = await asTenant(async (handle) => handle);
    expect(() => afterCommit(tx as never, () => {})).toThrow(TenantScopeViolation);
  });
});
