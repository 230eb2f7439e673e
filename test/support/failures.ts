// A setup file (vitest.config.ts `setupFiles`): it follows the running test file, so that the
// harness can tell, when a test database is dropped, whether the file has failed so far and
// keep the database for inspection then (see test-database.ts).

import { afterEach, beforeAll, beforeEach, type RunnerTask, type RunnerTestCase, type RunnerTestFile } from 'vitest';

let file: RunnerTestFile | undefined;
let runningTest: RunnerTestCase | undefined;

// Registered before the file's own hooks: runs first, with the file as its suite.
beforeAll((suite) => {
  file = suite.file;
});

beforeEach(({ task }) => {
  runningTest = task;
});

afterEach(() => {
  runningTest = undefined;
});

function failed(task: RunnerTask): boolean {
  if (task.result?.state === 'fail' || (task.result?.errors?.length ?? 0) > 0) return true;
  return 'tasks' in task && task.tasks.some(failed);
}

/** The running test file's path, when a test file is running. */
export function currentFilePath(): string | undefined {
  return file?.filepath;
}

/**
 * True when a test, a hook or a suite of the running file has failed so far. Asked from an
 * afterAll hook, this covers every test the hook's suite ran and its beforeAll hooks.
 */
export function fileFailedSoFar(): boolean {
  return file !== undefined && failed(file);
}

/** The test whose body (or its finally block) is running now, if any. */
export function currentTest(): RunnerTestCase | undefined {
  return runningTest;
}
