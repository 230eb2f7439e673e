// The export storage a deployment uses, from its configuration: the request side (status,
// download) and the job side (writing, expiry) must find the same archives.

import type { Config } from '../../config.js';
import { LocalDirectoryStorage, type ExportStorage } from './export-storage.js';
import { join } from 'node:path';

export function exportStorageOf(config: Pick<Config, 'exportDir'>): ExportStorage {
  return new LocalDirectoryStorage(join(config.exportDir, 'archives'));
}

/** Where a run stages its NDJSON files: beside the archives, so a crashed run's leftovers are found and removed. */
export function stagingDirOf(config: Pick<Config, 'exportDir'>, exportId: string): string {
  return join(config.exportDir, 'staging', exportId);
}
