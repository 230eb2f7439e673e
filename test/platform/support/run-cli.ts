// Runs the `tenantry` command from source as a child process (node with tsx's loader, no npx),
// optionally recording every module it loads, so tests can say what a command did not load.

import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const REPOSITORY = fileURLToPath(new URL('../../..', import.meta.url));
export const CLI = join(REPOSITORY, 'src/cli.ts');
// Absolute, so the command can be run from any directory (it resolves nothing from its cwd).
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const RECORD_MODULES = `data:text/javascript,import{register}from"node:module";register(${JSON.stringify(
  new URL('./record-modules.mjs', import.meta.url).href,
)})`;

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** URLs of the modules loaded through import, when `recordModulesTo` was given. */
  readonly modules: string[];
}

export interface CliOptions {
  readonly env?: Record<string, string>;
  readonly cwd?: string;
  /** A file to write the loaded modules' URLs to. */
  readonly recordModulesTo?: string;
}

export async function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const record = options.recordModulesTo ? ['--import', RECORD_MODULES] : [];
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    ...(options.recordModulesTo ? { TENANTRY_TEST_MODULE_LOG: options.recordModulesTo } : {}),
    ...options.env,
  };
  let result: { code: number; stdout: string; stderr: string };
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', TSX, ...record, CLI, ...args], {
      env,
      cwd: options.cwd ?? REPOSITORY,
      timeout: 90_000,
    });
    result = { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    result = { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
  const modules = options.recordModulesTo ? (await readFile(options.recordModulesTo, 'utf8').catch(() => '')).split('\n').filter(Boolean) : [];
  return { ...result, modules };
}
