// Five tenants, a thousand units of work in flight at once, with awaits and timers between
// queries: each one sees only its own tenant's rows. Zero leaks, in the data layer and over HTTP.

import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, Database } from '../../src/db/database.js';
import { currentContext, runWithContext } from '../../src/tenancy/context.js';
import { TEST_ROLES } from '../support/roles.js';
import { seedTenant, type SeededTenant } from '../support/seed.js';
import { bearer, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const TENANTS = 5;
const PER_TENANT = 200;

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
    const pool = createPool(testApp.database.url, 10, pino({ level: 'silent' }));
    const db = new Database({ pool, roles: TEST_ROLES, logger: pino({ level: 'silent' }) });
    let leaks = 0;
    const work = seeded.flatMap((tenant) =>
      Array.from({ length: PER_TENANT }, (_, i) =>
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
      ),
    );
    const counts = await Promise.all(work);
    await pool.end();
    expect(leaks).toBe(0);
    expect(counts.every((n) => n === 2)).toBe(true);
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
    const requests = tenants.flatMap((tenant) =>
      Array.from({ length: PER_TENANT }, (_, i) => ({ tenant, credential: i % 2 === 0 ? tenant.accessToken : tenant.apiKey })),
    );
    requests.sort(() => Math.random() - 0.5);
    const responses = await Promise.all(
      requests.map(async ({ tenant, credential }) => {
        const response = await testApp.app.inject({ method: 'GET', url: '/v1/members', headers: bearer(credential) });
        return { tenant, status: response.statusCode, emails: (response.json().data as Array<{ email: string }>).map((m) => m.email) };
      }),
    );
    const leaks = responses.filter((r) => r.status !== 200 || r.emails.length !== 1 || r.emails[0] !== r.tenant.email);
    expect(leaks).toEqual([]);
  });
});
