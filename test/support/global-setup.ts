// Once per test run: find a PostgreSQL (DATABASE_URL when CI names one, else an embedded
// cluster in a temp folder), migrate a template database, and at the end drop the template
// and whatever test database a file left behind, but not those kept for inspection.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.js';
import { migrate } from '../../src/db/migrate.js';
import { keptDatabases, printableUrl, testDatabasePrefix } from './kept-databases.js';
import { TEST_LOGIN_PASSWORD, TEST_ROLES, TEST_SERVICE_LOGIN_PASSWORD, databaseUrl } from './roles.js';
import { TEST_MODULES } from './modules.js';

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
    templateDatabase: string;
    /** Names this run's test databases (see test-database.ts). */
    testRunId: string;
    /** True when the run booted its own cluster, which is deleted at the end of the run. */
    embeddedCluster: boolean;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let embedded: EmbeddedDatabase | undefined;
  let dataDir: string | undefined;
  let adminUrl = process.env.TENANTRY_TEST_DATABASE_URL || process.env.DATABASE_URL;
  if (!adminUrl) {
    dataDir = await mkdtemp(join(tmpdir(), 'tenantry-test-'));
    embedded = await startEmbeddedPostgres({ dataDir, port: 0, ephemeral: true });
    adminUrl = embedded.url;
  }
  const runId = `${Date.now().toString(36)}${process.pid.toString(36)}`;
  const templateDatabase = `tenantry_template_${runId}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  if (!embedded) await dropEarlierKeptDatabases(admin);
  await admin.query(`CREATE DATABASE "${templateDatabase}"`);
  await migrate({
    modules: TEST_MODULES,
    databaseUrl: databaseUrl(adminUrl, templateDatabase),
    roles: TEST_ROLES,
    loginPassword: TEST_LOGIN_PASSWORD,
    serviceLoginPassword: TEST_SERVICE_LOGIN_PASSWORD,
  });
  await admin.end();

  project.provide('adminUrl', adminUrl);
  project.provide('templateDatabase', templateDatabase);
  project.provide('testRunId', runId);
  project.provide('embeddedCluster', embedded !== undefined);

  return async () => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS "${templateDatabase}" WITH (FORCE)`);
    const kept = (await keptDatabases(client)).filter((database) => database.run === runId);
    // A file whose hooks failed before its drop() ran leaves its database behind: unmarked.
    const { rows: leftovers } = await client.query<{ name: string }>(
      'SELECT datname AS name FROM pg_database WHERE starts_with(datname, $1) AND NOT (datname = ANY ($2))',
      [testDatabasePrefix(runId), kept.map((database) => database.name)],
    );
    for (const { name } of leftovers) await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await client.end();
    await embedded?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    if (kept.length > 0) {
      const lines = kept.map((database) => `  ${database.file}: ${printableUrl(databaseUrl(adminUrl, database.name))}`);
      const where = embedded
        ? 'were kept until now, and went with the embedded cluster; run with DATABASE_URL to keep them'
        : 'are kept for inspection (the next run drops them)';
      process.stderr.write(`\nThe databases of ${kept.length} failed test file(s) ${where}:\n${lines.join('\n')}\n`);
    }
  };
}

/** Databases an earlier run kept: dropped now, unless someone is still connected to one. */
async function dropEarlierKeptDatabases(admin: pg.Client): Promise<void> {
  for (const { name } of await keptDatabases(admin)) {
    try {
      await admin.query(`DROP DATABASE IF EXISTS "${name}"`);
    } catch (error) {
      // 55006: in use, someone is looking at it; it goes with a later run.
      if ((error as { code?: string }).code !== '55006') throw error;
      process.stderr.write(`kept test database ${name} is in use: not dropped\n`);
    }
  }
}
