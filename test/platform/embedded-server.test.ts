// The zero-configuration server: startServer() boots embedded PostgreSQL in a data folder,
// migrates it and answers over real HTTP; a second start reuses the cluster and its data.
// Run as root, a data folder the postgres OS user cannot reach is one sentence, not a stack.

import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { runCli } from './support/run-cli.js';

let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tenantry-embedded-'));
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

/** Starts the server the way `tenantry start` does, with an explicit env: no DATABASE_URL can leak in. */
async function start(): Promise<{ server: RunningServer; baseUrl: string; logs: () => string }> {
  const config = loadConfig({
    TENANTRY_DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    TENANTRY_EMBEDDED_PG_PORT: '0',
    LOG_LEVEL: 'silent',
    TENANTRY_MAX_EVENT_LOOP_DELAY_MS: '0', // a busy test machine is not an overloaded server
    TENANTRY_PLATFORM_ADMIN_TOKEN: OPERATOR_TOKEN, // the operator reads the local mailbox
  });
  expect(config.databaseUrl).toBeUndefined();
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const server = await startServer(config, createLogger('info', sink));
  const { port } = server.app.server.address() as AddressInfo;
  return { server, baseUrl: `http://127.0.0.1:${port}`, logs: () => lines.join('') };
}

const owner = { email: 'embedded-owner@example.test', password: 'embedded owner password', name: 'Owner' };
const OPERATOR_TOKEN = 'embedded-operator-token-0123456789abcdef';

describe('the embedded server', () => {
  let apiKey: string;

  it('answers /healthz, /readyz, /openapi.json and /docs/ over HTTP on a fresh data folder', async () => {
    const { server, baseUrl, logs } = await start();
    try {
      const health = await fetch(`${baseUrl}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });
      // Readiness may lag liveness while the probe's own connection opens on a busy machine.
      await expect.poll(async () => (await fetch(`${baseUrl}/readyz`)).status, { timeout: 10_000 }).toBe(200);

      const openapi = await fetch(`${baseUrl}/openapi.json`);
      expect(openapi.status).toBe(200);
      const document = (await openapi.json()) as { openapi: string; paths: Record<string, unknown> };
      expect(document.openapi).toMatch(/^3\./);
      expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/v1/tenants', '/v1/auth/login', '/v1/members']));

      const docs = await fetch(`${baseUrl}/docs/`);
      expect(docs.status).toBe(200);
      expect(docs.headers.get('content-type')).toMatch(/^text\/html/);

      // Sign-up asks, the link arrives in the local mailbox, and following it creates the tenant.
      const asked = await fetch(`${baseUrl}/v1/tenants`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Persisted', slug: 'persisted', owner }),
      });
      expect(asked.status).toBe(202);
      const mail = await fetch(`${baseUrl}/v1/admin/mail?to=${encodeURIComponent(owner.email)}`, { headers: { authorization: `Bearer ${OPERATOR_TOKEN}` } });
      expect(mail.status).toBe(200);
      const [message] = ((await mail.json()) as { data: Array<{ text: string }> }).data;
      const token = /complete-sign-up\?token=([A-Za-z0-9_-]+)/.exec(message?.text ?? '')?.[1];
      const created = await fetch(`${baseUrl}/v1/tenants/confirm`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token, password: owner.password }),
      });
      expect(created.status).toBe(201);
      apiKey = ((await created.json()) as { apiKey: { key: string } }).apiKey.key;
      expect(logs()).toContain('migrations applied');
    } finally {
      await server.stop();
    }
  });

  it('reuses the cluster on a second start: no migration re-applied, the tenant still there', async () => {
    expect(apiKey).toBeDefined();
    const { server, baseUrl, logs } = await start();
    try {
      expect(logs()).toContain('embedded PostgreSQL started');
      expect(logs()).not.toContain('migrations applied');
      const signedIn = await fetch(`${baseUrl}/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: owner.email, password: owner.password }),
      });
      expect(signedIn.status).toBe(200);
      const members = await fetch(`${baseUrl}/v1/members`, { headers: { authorization: `Bearer ${apiKey}` } });
      expect(members.status).toBe(200);
      expect(((await members.json()) as { data: Array<{ email: string }> }).data).toEqual([
        expect.objectContaining({ email: owner.email, role: 'owner' }),
      ]);
    } finally {
      await server.stop();
    }
  });

  it('stops cleanly: the port is closed afterwards, nothing is logged as an error, and the last line says so', async () => {
    const { server, baseUrl, logs } = await start();
    await server.stop();
    await server.stop(); // idempotent
    await expect(fetch(`${baseUrl}/healthz`)).rejects.toThrow();
    const lines = logs().split('\n').filter(Boolean).map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(lines.filter((line) => line.level >= 50)).toEqual([]);
    expect(lines.at(-1)?.msg).toBe('shutdown completed');
  });
});

describe('run as root, from a directory', () => {
  const root = process.getuid?.() === 0;
  const notRoot = 'not running as root: only root runs PostgreSQL as another OS user';
  let home: string;

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'tenantry-home-')); // mode 700, like root's home
  });

  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it('stops with one sentence when the postgres user cannot enter it (mode 700), and makes no data folder', async (context) => {
    if (!root) context.skip(notRoot);
    await chmod(home, 0o700);
    const result = await runCli(['migrate'], { cwd: home, env: { TENANTRY_EMBEDDED_PG_PORT: '0' } });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `tenantry: PostgreSQL cannot run as root, so Tenantry runs it as the OS user "postgres", which cannot enter ${home} (mode 700) ` +
        `on the way to the data folder ${join(home, '.tenantry')}: set TENANTRY_DATA_DIR to a folder under a directory every user can enter ` +
        '(such as /var/lib/tenantry), run Tenantry as a user other than root, or set DATABASE_URL to an external PostgreSQL.\n',
    );
    await expect(stat(join(home, '.tenantry'))).rejects.toThrow(/ENOENT/);
  });

  it('boots, migrates and stops the embedded cluster from a directory every user can enter', async (context) => {
    if (!root) context.skip(notRoot);
    await chmod(home, 0o755);
    const result = await runCli(['migrate'], { cwd: home, env: { TENANTRY_EMBEDDED_PG_PORT: '0' } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('migrations applied');
    expect((await stat(join(home, '.tenantry', 'pg', 'global', 'pg_control'))).isFile()).toBe(true);
  });
});
