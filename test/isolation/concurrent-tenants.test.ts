// Five tenants, a thousand units of work with awaits and timers between queries, interleaved
// across tenants with a hundred in flight at any moment (ten times the pool): each one sees
// only its own tenant's rows. Zero leaks, in the data layer and over HTTP. Bounding what is
// in flight bounds how long a unit queues for a connection, whatever the machine's load;
// a thousand at once made the last of them wait out the pool's checkout timeout.

import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, Database } from '../../src/db/database.js';
import { currentContext, runWithContext } from '../../src/tenancy/context.js';
import { patient } from '../support/pools.js';
import { TEST_ROLES } from '../support/roles.js';
import { seedTenant, type SeededTenant } from '../support/seed.js';
import { bearer, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { TEST_REGISTRY, type TestTables } from '../support/modules.js';

const TENANTS = 5;
const PER_TENANT = 200;
const IN_FLIGHT = 100;

/** The items in random order (Fisher-Yates), so consecutive units belong to different tenants. */
function shuffled<T>(items: T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

/** Runs every task, at most `limit` at a time; results in the tasks' order. */
async function atMost<T>(limit: number, tasks: Array<() => Promise<T>>): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const lane = async () => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await tasks[index]!();
    }
  };
  await Promise.all(Array.from({ length: limit }, lane));
  return results;
}

describe('concurrent units of work in the data layer', () => {
  let testApp: TestApp;
  let seeded: SeededTenant[];

  beforeAll(async () => {
    testApp = await startTestApp();
    seeded = [];
    for (let i = 0; i < TENANTS; i++) seeded.push(await seedTenant(testApp.database.admin, `T${i}`));
  });

  afterAll(async () => {
    await testApp.close();
  });

  it('never shows one tenant another tenant\'s rows', async () => {
    const pool = patient(createPool(testApp.database.url, 10, pino({ level: 'silent' })));
    const db = new Database<TestTables>({ modules: TEST_REGISTRY, pool, roles: TEST_ROLES, logger: pino({ level: 'silent' }) });
    let leaks = 0;
    const units = shuffled(seeded.flatMap((tenant) => Array.from({ length: PER_TENANT }, (_, i) => ({ tenant, i }))));
    const work = units.map(({ tenant, i }) => () =>
      runWithContext({ requestId: `${tenant.label}-${i}`, tenantId: tenant.tenantId }, async () => {
        await sleep(Math.random() * 5);
        const titles = await db.tenant(async (tx) => {
          const first = await tx.selectFrom('tasks').select('title').execute();
          await sleep(Math.random() * 3);
          const second = await tx.selectFrom('projects').select('name').execute();
          return [...first.map((r) => r.title), ...second.map((r) => r.name)];
        });
        // The context survives the awaits and timers of this unit of work.
        if (currentContext()?.tenantId !== tenant.tenantId) leaks++;
        for (const title of titles) if (!title.endsWith(`-${tenant.label}`)) leaks++;
        return titles.length;
      }),
    );
    try {
      const counts = await atMost(IN_FLIGHT, work);
      expect(leaks).toBe(0);
      expect(counts.every((n) => n === 2)).toBe(true);
    } finally {
      await pool.end();
    }
  });
});

describe('concurrent requests over HTTP', () => {
  let testApp: TestApp;
  let tenants: SignedUpTenant[];

  beforeAll(async () => {
    testApp = await startTestApp();
    tenants = [];
    for (let i = 0; i < TENANTS; i++) tenants.push(await signUp(testApp.app));
  });

  afterAll(async () => {
    await testApp.close();
  });

  it('answers each of 1,000 interleaved requests with its own tenant\'s members only', async () => {
    const requests = shuffled(
      tenants.flatMap((tenant) => Array.from({ length: PER_TENANT }, (_, i) => ({ tenant, credential: i % 2 === 0 ? tenant.accessToken : tenant.apiKey }))),
    );
    const responses = await atMost(
      IN_FLIGHT,
      requests.map(({ tenant, credential }) => async () => {
        const response = await testApp.app.inject({ method: 'GET', url: '/v1/members', headers: bearer(credential) });
        return { tenant, status: response.statusCode, emails: (response.json().data as Array<{ email: string }>).map((m) => m.email) };
      }),
    );
    const leaks = responses.filter((r) => r.status !== 200 || r.emails.length !== 1 || r.emails[0] !== r.tenant.email);
    expect(leaks).toEqual([]);
  });
});
