import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';

// Two projects, one run: `npm test` (and CI's JSON report) covers both. The slow set boots
// servers and PostgreSQL clusters, spawns the CLI, loads 100k rows or kills PostgreSQL; it
// runs after the fast set, on at most two workers, so neither set starves the other of the
// machine's cores and the timeouts below stay meaningful on a busy machine.
export const SLOW_TESTS = [
  'test/platform/cli.test.ts',
  'test/platform/embedded-server.test.ts',
  'test/platform/plain-owner-login.test.ts',
  'test/cache/**/*.test.ts',
  'test/isolation/tenant-index-plan.test.ts',
  'test/ratelimit/**/*.test.ts',
  'test/faults/**/*.test.ts',
  'test/http/docs-page.test.ts',
];

/**
 * `import … from 'tenantry'` (the examples) runs the sources, as package.json's
 * `tenantry-source` export condition does for the type checker. Per project: projects do not
 * inherit the root's options.
 */
const resolve = { alias: [{ find: /^tenantry$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) }] };

/** Options both projects share (a project does not inherit the root's `test` options). */
const shared: TestProjectInlineConfiguration['test'] = {
  pool: 'forks',
  testTimeout: 60_000,
  hookTimeout: 120_000,
  // Keeps the database of a file with a failing test (see test/support/test-database.ts).
  setupFiles: ['test/support/failures.ts'],
  // Each file makes its own database, so files run in parallel safely.
  fileParallelism: true,
};

export default defineConfig({
  test: {
    // Runs once for the whole run, whichever projects are selected: one PostgreSQL and one
    // migrated template, which both projects clone.
    globalSetup: ['test/support/global-setup.ts'],
    projects: [
      {
        resolve,
        test: {
          ...shared,
          name: 'fast',
          include: ['test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
          exclude: SLOW_TESTS,
          sequence: { groupOrder: 0 },
        },
      },
      {
        resolve,
        test: {
          ...shared,
          name: 'slow',
          include: SLOW_TESTS,
          sequence: { groupOrder: 1 },
          // Spawning the CLI or booting a cluster on a busy machine takes a while.
          testTimeout: 120_000,
          hookTimeout: 180_000,
          maxWorkers: Math.min(2, Math.max(1, availableParallelism() - 1)),
        },
      },
    ],
  },
});
