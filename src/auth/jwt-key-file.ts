// In embedded mode with no configured key, the JWT secret is generated once and kept in
// the data folder, so tokens survive restarts without any set-up.

import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JwtKeyConfig } from '../config.js';

export async function loadOrCreateJwtSecret(dataDir: string): Promise<JwtKeyConfig> {
  const file = join(dataDir, 'jwt-secret');
  const existing = await readFile(file, 'utf8').catch(() => undefined);
  if (existing?.trim()) return { kind: 'secret', secret: existing.trim() };
  await mkdir(dataDir, { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  await writeFile(file, secret + '\n', { mode: 0o600, flag: 'wx' }).catch(async (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  return { kind: 'secret', secret: (await readFile(file, 'utf8')).trim() };
}
