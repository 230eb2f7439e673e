// A process killed (SIGKILL) after its change committed, before the effect was delivered or
// while it was being delivered, still produces the effect: exactly once, by the next relay.

import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutboxMessage } from '../../src/outbox/outbox-message.js';
import { eventually, startOutboxFixture, type OutboxFixture } from './support/outbox-fixture.js';

const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const CHILD = fileURLToPath(new URL('./support/commit-then-crash.ts', import.meta.url));

let fixture: OutboxFixture;

beforeAll(async () => {
  fixture = await startOutboxFixture();
});

afterAll(async () => {
  await fixture.close();
});

/** Runs the child until it prints `line`, then kills it with SIGKILL and waits for it to die. */
async function killAfter(tenantId: string, mode: 'commit' | 'relay', line: string): Promise<void> {
  const child = spawn(process.execPath, ['--import', TSX, CHILD, fixture.database.url, tenantId, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += String(chunk)));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      stdout += String(chunk);
      if (stdout.split('\n').includes(line)) resolve();
    });
    child.on('exit', (code) => reject(new Error(`child exited (${code}) before "${line}": ${stderr}`)));
  });
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
}

async function deliverWithFreshRelay(): Promise<OutboxMessage[]> {
  const delivered: OutboxMessage[] = [];
  const relay = fixture.relay({ 'test.crash': async (message) => void delivered.push(message) });
  // The dead process's transaction (and its tenant lock) goes when PostgreSQL notices the
  // closed socket; until then the tenant is skipped, not delivered twice.
  await eventually(async () => {
    await relay.drain();
    return delivered.length > 0;
  }, 30_000);
  expect(await relay.drain()).toBe(0);
  return delivered;
}

describe('an effect whose process died after commit', () => {
  it('is delivered exactly once by the next relay when the process died before any relay ran', async () => {
    const tenantId = await fixture.newTenant();
    await killAfter(tenantId, 'commit', 'committed');
    expect(await fixture.rows()).toMatchObject([{ tenant_id: tenantId, topic: 'test.crash', attempts: 0 }]);
    const delivered = await deliverWithFreshRelay();
    expect(delivered).toMatchObject([{ tenantId, topic: 'test.crash', payload: { n: 1 } }]);
    expect(await fixture.rows()).toEqual([]);
  });

  it('is delivered exactly once by the next relay when the process died in the middle of delivering it', async () => {
    const tenantId = await fixture.newTenant();
    await killAfter(tenantId, 'relay', 'delivering');
    const delivered = await deliverWithFreshRelay();
    expect(delivered).toMatchObject([{ tenantId, topic: 'test.crash', payload: { n: 1 }, attempts: 0 }]);
    expect(await fixture.rows()).toEqual([]);
  });
});
