// The build's last step: tsc emits JavaScript only, so every module's migrations folder
// (src/**/migrations/*.sql) is copied beside its compiled code in dist/.

import { cpSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';

function migrationFolders(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      return entry.name === 'migrations' ? [path] : migrationFolders(path);
    });
}

for (const folder of migrationFolders('src')) {
  const target = join('dist', relative('src', folder));
  rmSync(target, { recursive: true, force: true });
  cpSync(folder, target, { recursive: true });
}
