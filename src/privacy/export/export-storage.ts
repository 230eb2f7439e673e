// Where finished export archives live. The interface is the seam for an object store; the
// default keeps them in a local folder (TENANTRY_EXPORT_DIR, by default <data dir>/exports).

import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface ExportStorage {
  /** Stores everything `source` yields under `key`; a reader sees the archive whole or not at all. */
  put(key: string, source: Readable): Promise<void>;
  /** The archive's bytes; ArchiveMissingError when there is none under `key`. */
  open(key: string): Promise<{ readonly stream: Readable; readonly bytes: number }>;
  /** Removes the archive; removing one that is gone is not an error (the retention job retries). */
  remove(key: string): Promise<void>;
}

export class ArchiveMissingError extends Error {
  override name = 'ArchiveMissingError';
}

/** Keys are built by the export code (`<tenant>/<export>.tar.gz`); anything else is refused before it names a path. */
const KEY = /^[0-9a-f-]{36}\/[0-9a-f-]{36}\.tar\.gz$/;

function checkedKey(key: string): string {
  if (!KEY.test(key)) throw new TypeError(`refusing a malformed export storage key "${key}"`);
  return key;
}

export function archiveKey(tenantId: string, exportId: string): string {
  return checkedKey(`${tenantId}/${exportId}.tar.gz`);
}

export class LocalDirectoryStorage implements ExportStorage {
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
  }

  async put(key: string, source: Readable): Promise<void> {
    const path = join(this.#root, checkedKey(key));
    await mkdir(dirname(path), { recursive: true });
    // Written beside and renamed into place: a crash mid-write leaves a .partial, never a torn archive.
    const partial = `${path}.partial`;
    try {
      await pipeline(source, createWriteStream(partial, { mode: 0o600 }));
      await rename(partial, path);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
  }

  async open(key: string): Promise<{ stream: Readable; bytes: number }> {
    const path = join(this.#root, checkedKey(key));
    const found = await stat(path).catch(() => undefined);
    if (!found?.isFile()) throw new ArchiveMissingError(`no export archive under ${key}`);
    return { stream: createReadStream(path), bytes: found.size };
  }

  async remove(key: string): Promise<void> {
    const path = join(this.#root, checkedKey(key));
    await rm(path, { force: true });
    await rm(`${path}.partial`, { force: true });
  }
}
