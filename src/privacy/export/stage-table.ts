// Writes one table's NDJSON to a staging file, hashing as it goes. A tar entry must state its
// size before its bytes, and the size is known only once the table is read: so each table is
// staged on disk (never in memory) and then copied into the archive.

import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';

export interface StagedTable {
  readonly path: string;
  readonly rows: number;
  readonly bytes: number;
  /** SHA-256 (hex) of the NDJSON file exactly as it enters the archive. */
  readonly sha256: string;
}

export async function stageLines(path: string, pages: AsyncIterable<readonly string[]>): Promise<StagedTable> {
  const file = createWriteStream(path, { mode: 0o600 });
  const hash = createHash('sha256');
  let rows = 0;
  let bytes = 0;
  try {
    for await (const lines of pages) {
      const chunk = Buffer.from(`${lines.join('\n')}\n`, 'utf8');
      hash.update(chunk);
      rows += lines.length;
      bytes += chunk.length;
      // Backpressure: the next page is not read until the disk has taken this one.
      if (!file.write(chunk)) await once(file, 'drain');
    }
    file.end();
    await finished(file);
  } catch (error) {
    file.destroy();
    throw error;
  }
  return { path, rows, bytes, sha256: hash.digest('hex') };
}
