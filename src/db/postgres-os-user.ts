// Run as root, the embedded PostgreSQL runs as the OS user `postgres` (PostgreSQL refuses
// root), which must be able to enter every directory on the way to its binaries and data.

import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export class PostgresUserAccessError extends Error {
  override name = 'PostgresUserAccessError';
}

async function postgresIds(): Promise<{ uid: number; gid: number } | undefined> {
  try {
    const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
    return { uid: Number(uid.stdout), gid: Number(gid.stdout) };
  } catch {
    return undefined;
  }
}

/** The existing directories from / down to the one holding `path`. */
async function existingAncestors(path: string): Promise<string[]> {
  const chain: string[] = [];
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    chain.unshift(dir);
    if (dir === dirname(dir)) break;
  }
  const present = await Promise.all(chain.map((dir) => stat(dir).then((s) => s.isDirectory(), () => false)));
  return chain.filter((_, index) => present[index]);
}

/**
 * The first of `dirs` the postgres user cannot enter, asked of the system as that user (so
 * groups and ACLs count); a user not created yet will belong to no group, so only the
 * "other" permission bits can let it in.
 */
async function firstBlocked(dirs: string[]): Promise<string | undefined> {
  const ids = await postgresIds();
  if (!ids) {
    for (const dir of dirs) if (((await stat(dir)).mode & 0o001) === 0) return dir;
    return undefined;
  }
  const { stdout } = await run('/bin/sh', ['-c', 'for d; do [ -x "$d" ] || { echo "$d"; exit 0; }; done', 'sh', ...dirs], {
    ...ids,
    cwd: '/',
  });
  return stdout.trim() || undefined;
}

/**
 * Throws one sentence saying what the postgres user cannot reach and what to do, when run as
 * root and a directory on the way to the binaries or the data folder is closed to it (such
 * as root's home, mode 700). Nothing is changed: opening someone's home directory to another
 * user, or copying 60 MB of binaries elsewhere, is the operator's call, not ours.
 */
export async function assertPostgresUserCanReach(binary: string, dataDir: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const why = 'PostgreSQL cannot run as root, so Tenantry runs it as the OS user "postgres", which cannot enter';
  const instead = 'run Tenantry as a user other than root, or set DATABASE_URL to an external PostgreSQL';
  const closedToBinaries = await firstBlocked(await existingAncestors(binary));
  if (closedToBinaries) {
    const mode = ((await stat(closedToBinaries)).mode & 0o777).toString(8);
    throw new PostgresUserAccessError(
      `${why} ${closedToBinaries} (mode ${mode}) on the way to its binaries in ${dirname(dirname(binary))}: ` +
        `install Tenantry under a directory every user can enter (such as /srv or /opt), ${instead}.`,
    );
  }
  const closedToData = await firstBlocked(await existingAncestors(dataDir));
  if (closedToData) {
    const mode = ((await stat(closedToData)).mode & 0o777).toString(8);
    throw new PostgresUserAccessError(
      `${why} ${closedToData} (mode ${mode}) on the way to the data folder ${dataDir}: ` +
        `set TENANTRY_DATA_DIR to a folder under a directory every user can enter (such as /var/lib/tenantry), ${instead}.`,
    );
  }
}
