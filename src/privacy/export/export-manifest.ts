// The manifest at the head of every export archive: what the archive holds and how to check
// it, readable without Tenantry (counts and SHA-256 per NDJSON file).

import { readdir } from 'node:fs/promises';
import type { ModuleRegistry } from '../../modules/registry.js';

export const EXPORT_FORMAT = 'tenantry-export/1';

export interface ManifestTable {
  readonly table: string;
  readonly module: string;
  /** The archive entry holding the rows, one JSON object per line. */
  readonly file: string;
  readonly rows: number;
  readonly bytes: number;
  readonly sha256: string;
  /** The columns each row carries (tenant_id and the declared secret columns never do). */
  readonly columns: readonly string[];
  readonly omittedSecretColumns: readonly string[];
}

export interface ExportManifest {
  readonly format: typeof EXPORT_FORMAT;
  readonly exportId: string;
  readonly tenantId: string;
  readonly createdAt: string;
  /** Each registered module and the last migration its code carries: the schema the rows follow. */
  readonly modules: readonly { readonly name: string; readonly schemaVersion: string | null }[];
  readonly tables: readonly ManifestTable[];
}

/** The newest migration file of each module, as the schema version its rows were written under. */
export async function moduleVersions(modules: ModuleRegistry): Promise<ExportManifest['modules']> {
  return Promise.all(
    modules.modules.map(async (module) => {
      if (!module.migrations) return { name: module.name, schemaVersion: null };
      const files = (await readdir(module.migrations)).filter((file) => /^\d{4}_.+\.sql$/.test(file)).sort();
      return { name: module.name, schemaVersion: files.at(-1)?.replace(/\.sql$/, '') ?? null };
    }),
  );
}
