// A PostgreSQL cluster of the test's own (never the shared one), migrated like the suite's
// template, that a fault test may kill, restart on the same port and data, or stall.

import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asRole } from '../../../src/db/open-database.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../../src/db/embedded.js';
import { migrate } from '../../../src/db/migrate.js';
import { TEST_LOGIN_PASSWORD, TEST_SERVICE_LOGIN_PASSWORD, TEST_ROLES } from '../../support/roles.js';
import { TEST_MODULES } from '../../support/modules.js';

export interface OwnPostgres {
  /** Superuser: migrations, the job queue, inspection. */
  readonly url: string;
  /** The login role, as request pools connect. */
  readonly appUrl: string;
  /** The service login's connection string, as production's service pool uses. */
  readonly serviceUrl: string;
  /** SIGKILL to the postmaster and every backend at once, as a host crash or OOM kill would. */
  kill(): Promise<void>;
  /** Starts the cluster again on the same port and data (crash recovery runs first). */
  restart(): Promise<void>;
  /** SIGSTOP to the postmaster and every backend: connections stay open and nothing answers. */
  stall(): Promise<{ resume(): void }>;
  /** Stops the cluster and removes its files. */
  remove(): Promise<void>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function startOwnPostgres(): Promise<OwnPostgres> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tenantry-faults-'));
  let cluster: EmbeddedDatabase = await startEmbeddedPostgres({ dataDir, port: 0 });
  const url = cluster.url;
  const port = Number(new URL(url).port);
  await migrate({ modules: TEST_MODULES, databaseUrl: url, roles: TEST_ROLES, loginPassword: TEST_LOGIN_PASSWORD, serviceLoginPassword: TEST_SERVICE_LOGIN_PASSWORD });

  /** The postmaster (from the pid file PostgreSQL keeps) and its children. */
  async function processes(): Promise<number[]> {
    const postmaster = Number((await readFile(join(dataDir, 'pg', 'postmaster.pid'), 'utf8')).split('\n')[0]);
    let children: number[] = [];
    try {
      children = execFileSync('pgrep', ['-P', String(postmaster)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
    } catch {
      // pgrep exits 1 when there are none.
    }
    return [postmaster, ...children];
  }

  function alive(pid: number): boolean {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  return {
    url,
    appUrl: asRole(url, TEST_ROLES.login, TEST_LOGIN_PASSWORD),
    serviceUrl: asRole(url, TEST_ROLES.serviceLogin, TEST_SERVICE_LOGIN_PASSWORD),
    async kill() {
      const pids = await processes();
      for (const pid of pids) process.kill(pid, 'SIGKILL');
      for (let waited = 0; pids.some(alive) && waited < 5_000; waited += 20) await sleep(20);
      await cluster.stop(); // its process is gone: this only forgets it
    },
    async restart() {
      cluster = await startEmbeddedPostgres({ dataDir, port });
    },
    async stall() {
      const pids = await processes();
      for (const pid of pids) process.kill(pid, 'SIGSTOP');
      return { resume: () => pids.forEach((pid) => process.kill(pid, 'SIGCONT')) };
    },
    async remove() {
      await cluster.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
