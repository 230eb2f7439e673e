// A test app for the privacy tests: the built-in modules plus a module declared in the test
// (contracts), exports in a folder of their own, and the job worker running.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { hashPassword } from '../../../src/auth/passwords.js';
import { TEST_MODULES } from '../../support/modules.js';
import { seedTenant, type SeededTenant } from '../../support/seed.js';
import { startTestApp, type TestApp } from '../../support/test-app.js';
import { contractsModule } from './contracts-module.js';

/** The operator's bearer token in these tests. */
export const PLATFORM_ADMIN_TOKEN = 'privacy-test-operator-token-of-32-chars-or-more';

export interface PrivacyApp extends TestApp {
  readonly exportDir: string;
  /** Starts the job worker: after seeding, since it rolls up (and so empties) the seeded usage queue. */
  startWorker(): Promise<void>;
}

export async function startPrivacyApp(): Promise<PrivacyApp> {
  const exportDir = await mkdtemp(join(tmpdir(), 'tenantry-privacy-test-'));
  const testApp = await startTestApp({ TENANTRY_EXPORT_DIR: exportDir, TENANTRY_PLATFORM_ADMIN_TOKEN: PLATFORM_ADMIN_TOKEN }, { modules: [...TEST_MODULES, contractsModule] });
  return {
    ...testApp,
    exportDir,
    startWorker: () => testApp.services.jobs.start({ concurrency: 2, pollIntervalMs: 100 }),
    async close() {
      await testApp.services.jobs.stop();
      await testApp.close();
      await rm(exportDir, { recursive: true, force: true });
    },
  };
}

export interface SeededPerson extends SeededTenant {
  readonly email: string;
  readonly password: string;
}

/** A tenant with a row in every built-in tenant table and a contract, whose owner can sign in. */
export async function seedPersonTenant(admin: pg.Pool, label: string): Promise<SeededPerson> {
  const seeded = await seedTenant(admin, label);
  const password = `password-of-${label}-long-enough`;
  // An address no other seeded value contains (the seed derives its invitee's from the slug).
  const { rows } = await admin.query<{ email: string }>(`UPDATE users SET password_hash = $2, email = $3 WHERE id = $1 RETURNING email`, [
    seeded.userId,
    await hashPassword(password),
    `${label.toLowerCase()}.${seeded.userId.slice(-8)}@people.example.test`,
  ]);
  await admin.query(
    `INSERT INTO contracts (tenant_id, id, title, signer_email, signer_id, token_hash) VALUES ($1, gen_random_uuid(), $2, $3, $4, '\\xdeadbeef')`,
    [seeded.tenantId, `contract of ${label}`, rows[0]!.email, seeded.userId],
  );
  // The seeded outbox row has no consumer: at the head of the tenant's outbox it would hold
  // back the export job's message behind it (delivery is in order per tenant).
  await admin.query(`DELETE FROM outbox WHERE tenant_id = $1 AND topic = 'seed.effect'`, [seeded.tenantId]);
  return { ...seeded, email: rows[0]!.email, password };
}
