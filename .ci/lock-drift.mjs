// Compares the committed lock file with one npm regenerated from the same package.json, and
// passes only when the registry merely serves platform packages the committed lock predates.
//
// Usage: node .ci/lock-drift.mjs <committed package-lock.json> <regenerated package-lock.json>
// Exit 0: the only differences are added entries, each an optional package that an entry both
// files share already names, at that version, among its optionalDependencies (rollup's
// @rollup/rollup-<platform> binaries, esbuild's @esbuild/<platform>, ...). Exit 1 otherwise,
// naming every difference, so real drift (a changed version, a new dependency) still fails CI.

import { readFileSync } from 'node:fs';

const [committedPath, regeneratedPath] = process.argv.slice(2);
if (!committedPath || !regeneratedPath) {
  console.error('usage: node .ci/lock-drift.mjs <committed lock> <regenerated lock>');
  process.exit(2);
}

const committed = JSON.parse(readFileSync(committedPath, 'utf8')).packages ?? {};
const regenerated = JSON.parse(readFileSync(regeneratedPath, 'utf8')).packages ?? {};

/** The package name of a lock entry's path: the part after its last `node_modules/`. */
const nameOf = (path) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);

/** name@version pairs that some committed entry declares as optional dependencies. */
const declaredOptional = new Set();
for (const entry of Object.values(committed)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) declaredOptional.add(`${name}@${version}`);
}

const problems = [];
const tolerated = [];
for (const [path, entry] of Object.entries(regenerated)) {
  const before = committed[path];
  if (before) {
    // Fields npm may fill differently between runs without changing what gets installed.
    const comparable = (e) => JSON.stringify({ ...e, peer: undefined, devOptional: undefined });
    if (comparable(before) !== comparable(entry)) problems.push(`changed: ${path || '(root)'}`);
    continue;
  }
  const id = `${nameOf(path)}@${entry.version}`;
  if (entry.optional === true && declaredOptional.has(id)) tolerated.push(id);
  else problems.push(`added: ${path} ${entry.version ?? ''}`.trim());
}
for (const path of Object.keys(committed)) {
  if (!(path in regenerated)) problems.push(`removed: ${path}`);
}

if (problems.length > 0) {
  console.error(`the lock file has drifted from package.json:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`the lock file lacks only ${tolerated.length} optional platform package(s) the registry now serves: ${tolerated.join(', ')}`);
