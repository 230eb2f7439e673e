// Each test file gets its own database, cloned from the migrated template: files run in
// parallel and leave nothing behind, except that the database of a file with a failing test
// is kept for inspection (at most KEEP_AT_MOST per run; the next run drops them).

import { randomBytes } from 'node:crypto';
import { relative } from 'node:path';
import pg from 'pg';
import { inject, onTestFinished } from 'vitest';
import { currentFilePath, currentTest, fileFailedSoFar } from './failures.js';
import { KEEP_AT_MOST, markKept, printableUrl, testDatabasePrefix } from './kept-databases.js';
import { databaseUrl } from './roles.js';

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  /** A superuser connection to this database, for set-up and inspection (never for the app). */
  readonly admin: pg.Pool;
  /** Drops the database, or keeps it when the test file has failed so far. */
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = inject('adminUrl');
  const template = inject('templateDatabase');
  const name = testDatabasePrefix(inject('testRunId')) + randomBytes(6).toString('hex');
  const server = new pg.Client({ connectionString: adminUrl });
  await server.connect();
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await server.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
        break;
      } catch (error) {
        // 55006: the template is briefly in use by a parallel clone; try again.
        if ((error as { code?: string }).code !== '55006' || attempt >= 20) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
      }
    }
  } finally {
    await server.end();
  }
  const url = databaseUrl(adminUrl, name);
  const admin = new pg.Pool({ connectionString: url, max: 4 });
  // DROP DATABASE ... WITH (FORCE) terminates whatever is still connected; an idle client
  // that hears it must not become an uncaught error in the test run.
  admin.on('error', () => {});
  return {
    name,
    url,
    admin,
    async drop() {
      await admin.end();
      const test = currentTest();
      if (test) {
        // Dropped from inside a test (a finally block): whether it failed is known only after.
        onTestFinished(() => keepOrDrop(name, url, test.result?.state === 'fail'));
        return;
      }
      await keepOrDrop(name, url, fileFailedSoFar());
    },
  };
}

async function keepOrDrop(name: string, url: string, failed: boolean): Promise<void> {
  const client = new pg.Client({ connectionString: inject('adminUrl') });
  await client.connect();
  try {
    if (failed) {
      const file = relative(process.cwd(), currentFilePath() ?? 'unknown');
      if (await markKept(client, name, inject('testRunId'), file)) {
        const note = inject('embeddedCluster')
          ? ' (until the run ends: the embedded cluster is deleted then; run with DATABASE_URL to inspect it afterwards)'
          : '';
        console.warn(`${file} failed: its database is kept for inspection${note}: ${printableUrl(url)}`);
        return;
      }
      console.warn(`${file} failed: its database ${name} is dropped all the same (this run keeps ${KEEP_AT_MOST} already)`);
    }
    // Connections that are still closing (a LISTEN client, a pool's last client) get a
    // moment to go on their own; FORCE only ends what is left after that.
    for (let waited = 0; waited < 3_000; waited += 50) {
      const { rows } = await client.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [name]);
      if (rows[0].n === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
