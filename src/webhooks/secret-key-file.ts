// In embedded mode with no configured key, the key that encrypts webhook signing secrets is
// generated once and kept in the data folder (like the JWT secret), so it survives restarts.

import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const KEY_BYTES = 32;

export async function loadOrCreateWebhookKey(dataDir: string): Promise<Buffer> {
  const file = join(dataDir, 'webhook-secret-key');
  const read = async () => {
    const text = (await readFile(file, 'utf8').catch(() => '')).trim();
    const key = Buffer.from(text, 'base64');
    return key.length === KEY_BYTES ? key : undefined;
  };
  const existing = await read();
  if (existing) return existing;
  await mkdir(dataDir, { recursive: true });
  // 'wx': two processes starting together keep whichever key was written first.
  await writeFile(file, randomBytes(KEY_BYTES).toString('base64') + '\n', { mode: 0o600, flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  const created = await read();
  if (!created) throw new Error(`${file} does not hold a ${KEY_BYTES}-byte base64 key`);
  return created;
}
