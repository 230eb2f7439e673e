// Builds one tenant's export archive: every registered, exported tenant table read in keyset
// pages in the tenant's scope, staged as NDJSON, then packed with its manifest into a tar.gz
// that is streamed into the export storage. Memory holds one page and the streams' buffers,
// whatever the tenant's size (bench/export.bench.ts measures it).

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';
import type { ModuleRegistry } from '../../modules/registry.js';
import { archiveKey, type ExportStorage } from './export-storage.js';
import { EXPORT_FORMAT, moduleVersions, type ExportManifest, type ManifestTable } from './export-manifest.js';
import { stageLines } from './stage-table.js';
import { tableLines, type TenantUnits } from './table-pages.js';
import { readTableShape } from './table-shape.js';

export interface ArchiveRequest {
  readonly db: TenantUnits;
  readonly modules: ModuleRegistry;
  readonly storage: ExportStorage;
  /** A folder of this export's own (removed before and after): the staged NDJSON files. */
  readonly stagingDir: string;
  readonly tenantId: string;
  readonly exportId: string;
  readonly createdAt: Date;
  /** Rows per keyset page: what memory holds at once. */
  readonly pageSize: number;
}

export interface WrittenArchive {
  readonly key: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly manifest: ExportManifest;
}

export async function writeTenantArchive(request: ArchiveRequest): Promise<WrittenArchive> {
  const { db, modules, stagingDir, tenantId } = request;
  await rm(stagingDir, { recursive: true, force: true });
  await mkdir(stagingDir, { recursive: true, mode: 0o700 });
  try {
    const tables: ManifestTable[] = [];
    const exported = modules.tenantTableDeclarations().filter((declaration) => declaration.exported !== false);
    for (const declaration of exported) {
      const secret = declaration.secret ?? [];
      const shape = await db.tenant((tx) => readTableShape(tx, declaration.name, secret));
      const staged = await stageLines(join(stagingDir, `${declaration.name}.ndjson`), tableLines(db, tenantId, shape, request.pageSize));
      tables.push({
        table: declaration.name,
        module: declaration.module,
        file: `tables/${declaration.name}.ndjson`,
        rows: staged.rows,
        bytes: staged.bytes,
        sha256: staged.sha256,
        columns: shape.columns.map((column) => column.name),
        omittedSecretColumns: [...secret],
      });
    }
    const manifest: ExportManifest = {
      format: EXPORT_FORMAT,
      exportId: request.exportId,
      tenantId,
      createdAt: request.createdAt.toISOString(),
      modules: await moduleVersions(modules),
      tables,
    };
    const key = archiveKey(tenantId, request.exportId);
    const { bytes, sha256 } = await packArchive(request.storage, key, stagingDir, manifest);
    return { key, bytes, sha256, manifest };
  } finally {
    await rm(stagingDir, { recursive: true, force: true });
  }
}

/** manifest.json first, then each staged table, gzipped and hashed on the way into the storage. */
async function packArchive(storage: ExportStorage, key: string, stagingDir: string, manifest: ExportManifest) {
  const pack = tar.pack();
  const hash = createHash('sha256');
  let bytes = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  const gzip = createGzip();
  const stored = Promise.all([pipeline(pack, gzip, counted).then(() => undefined), storage.put(key, counted)]);
  // If storing fails, stop feeding the pack: its entries would wait for a reader forever.
  stored.catch((error: Error) => pack.destroy(error));
  try {
    await addEntry(pack, 'manifest.json', Buffer.from(JSON.stringify(manifest, null, 2), 'utf8'));
    for (const table of manifest.tables) {
      const entry = pack.entry({ name: table.file, size: table.bytes, mode: 0o644 });
      await pipeline(createReadStream(join(stagingDir, `${table.table}.ndjson`)), entry);
    }
    pack.finalize();
  } catch (error) {
    pack.destroy(error as Error);
  }
  await stored;
  return { bytes, sha256: hash.digest('hex') };
}

function addEntry(pack: tar.Pack, name: string, content: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    pack.entry({ name, size: content.length, mode: 0o644 }, content, (error) => (error ? reject(error) : resolve()));
  });
}
