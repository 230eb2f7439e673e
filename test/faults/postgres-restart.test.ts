// While PostgreSQL crashes and restarts, or stalls, under load from several tenants: clients
// get 503 problem+json with Retry-After (never another 5xx, never a hang), no acknowledged
// write is lost, re-sent usage events are counted once, and the server recovers on its own.

import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { TEST_JWT_SECRET } from '../support/test-app.js';
import { startOwnPostgres, type OwnPostgres } from './support/own-postgres.js';
import { Traffic } from './support/traffic.js';

/** Short bounds, so a stalled database is answered within seconds and the test stays short. */
const STATEMENT_TIMEOUT_MS = 1_000;
const CONNECT_TIMEOUT_MS = 1_000;
/** The client's read timeout is the statement timeout plus 1 s; allow a loaded machine 1 s more. */
const STALLED_ANSWER_WITHIN_MS = STATEMENT_TIMEOUT_MS + 1_000 + 1_000;

interface LoadTenant {
  readonly slug: string;
  readonly token: string;
  readonly projectId: string;
  /** Ids of tasks whose creation was acknowledged (201). */
  readonly acknowledgedTasks: string[];
  /** Idempotency keys of usage events whose batch was acknowledged (200), after any re-sends. */
  readonly acknowledgedEvents: Set<string>;
}

let postgres: OwnPostgres;
let server: RunningServer;
let traffic: Traffic;
const logLines: string[] = [];
const tenants: LoadTenant[] = [];

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function signUpTenant(index: number): Promise<LoadTenant> {
  const slug = `faults-${index}-${Math.random().toString(36).slice(2, 8)}`;
  const signedUp = await traffic.send('POST', '/v1/tenants', {
    body: { name: `Faults ${index}`, slug, owner: { email: `${slug}@example.test`, password: 'fault tolerant password', name: 'Owner' } },
  });
  expect(signedUp.status).toBe(202);
  // The owner follows the link mailed to the local mailbox, with the password.
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: postgres.url });
  await client.connect();
  const mail = await client.query(`SELECT text_body FROM email_mailbox WHERE recipient = $1`, [`${slug}@example.test`]).finally(() => client.end());
  const linkToken = /complete-sign-up\?token=([A-Za-z0-9_-]+)/.exec(mail.rows[0]?.text_body ?? '')?.[1];
  const confirmed = await traffic.send('POST', '/v1/tenants/confirm', { body: { token: linkToken, password: 'fault tolerant password' } });
  expect(confirmed.status).toBe(201);
  const token = (confirmed.body as { accessToken: string }).accessToken;
  const project = await traffic.send('POST', '/v1/projects', { token, body: { name: 'Load' } });
  expect(project.status).toBe(201);
  return { slug, token, projectId: project.body!.id as string, acknowledgedTasks: [], acknowledgedEvents: new Set() };
}

beforeAll(async () => {
  postgres = await startOwnPostgres();
  const config = loadConfig({
    DATABASE_URL: postgres.url,
    TENANTRY_APP_DATABASE_URL: postgres.appUrl,
    TENANTRY_SERVICE_DATABASE_URL: postgres.serviceUrl,
    TENANTRY_JWT_SECRET: TEST_JWT_SECRET,
    HOST: '127.0.0.1',
    PORT: '0',
    TENANTRY_RATE_LIMITS: 'false',
    TENANTRY_DB_POOL_SIZE: '8',
    TENANTRY_DB_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
    TENANTRY_DB_TRANSACTION_TIMEOUT_MS: '3000',
    TENANTRY_DB_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
    // Database faults only: a busy test machine must not add event-loop shedding to the picture.
    TENANTRY_MAX_EVENT_LOOP_DELAY_MS: '0',
  });
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  // The production wiring: request, background and queue pools, the job worker, real HTTP.
  server = await startServer(config, createLogger('info', sink));
  traffic = new Traffic(`http://127.0.0.1:${(server.app.server.address() as AddressInfo).port}`);
  for (let index = 0; index < 3; index++) tenants.push(await signUpTenant(index));
});

afterAll(async () => {
  await server?.stop();
  await postgres?.remove();
});

/** Creates tasks until told to stop; a refused create is not retried (tasks carry no idempotency key). */
async function createTasks(tenant: LoadTenant, worker: number, running: () => boolean): Promise<void> {
  for (let n = 0; running(); n++) {
    const answer = await traffic.send('POST', '/v1/tasks', { token: tenant.token, body: { projectId: tenant.projectId, title: `task ${worker}.${n}` } });
    if (answer.status === 201) tenant.acknowledgedTasks.push(answer.body!.id as string);
    else await sleep(100);
  }
}

/** Sends batches of usage events until told to stop; a refused batch is re-sent with the same keys until acknowledged. */
async function sendUsage(tenant: LoadTenant, worker: number, running: () => boolean): Promise<void> {
  for (let batch = 0; running(); batch++) {
    const events = Array.from({ length: 5 }, (_, i) => ({
      metric: 'storage_bytes',
      quantity: 1,
      idempotency_key: `${tenant.slug}:${worker}:${batch}:${i}`,
    }));
    const giveUpAt = performance.now() + 20_000;
    for (;;) {
      const answer = await traffic.send('POST', '/v1/usage/events', { token: tenant.token, body: { events } });
      if (answer.status === 200) {
        for (const event of events) tenant.acknowledgedEvents.add(event.idempotency_key);
        break;
      }
      if (performance.now() > giveUpAt) throw new Error(`usage batch never acknowledged: last answer ${answer.status}`);
      await sleep(150);
    }
  }
}

async function storedUsageKeys(tenantSlug: string): Promise<string[]> {
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: postgres.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ idempotency_key: string }>(
      `SELECT e.idempotency_key FROM usage_events e JOIN tenants t ON t.id = e.tenant_id
       WHERE t.slug = $1 AND e.metric = 'storage_bytes'`,
      [tenantSlug],
    );
    return rows.map((row) => row.idempotency_key);
  } finally {
    await client.end();
  }
}

async function storedTaskIds(tenantSlug: string): Promise<Set<string>> {
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: postgres.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string }>('SELECT k.id FROM tasks k JOIN tenants t ON t.id = k.tenant_id WHERE t.slug = $1', [tenantSlug]);
    return new Set(rows.map((row) => row.id));
  } finally {
    await client.end();
  }
}

describe('PostgreSQL killed and restarted under load', () => {
  it('refuses with 503 while it is down, loses and doubles nothing, and recovers within seconds', async () => {
    let stopAt = Number.POSITIVE_INFINITY;
    const running = () => performance.now() < stopAt;
    const load = Promise.all(
      tenants.flatMap((tenant) => [
        createTasks(tenant, 0, running),
        createTasks(tenant, 1, running),
        sendUsage(tenant, 0, running),
        sendUsage(tenant, 1, running),
      ]),
    );
    await sleep(1_500);
    await postgres.kill();
    const killedAt = performance.now();
    await sleep(1_000);
    await postgres.restart();
    const restartedAt = performance.now();
    stopAt = restartedAt + 3_000;
    await load;

    expect(traffic.unacceptable()).toEqual([]);
    expect(traffic.unhelpfulRefusals()).toEqual([]);
    const refusals = traffic.answers.filter((answer) => answer.status === 503 && answer.at > killedAt);
    expect(refusals.length).toBeGreaterThan(0); // the fault did reach the clients
    expect(new Set(refusals.map((answer) => answer.body!.type))).toEqual(new Set(['https://tenantry.dev/problems/database-unavailable']));
    const firstSuccessAfterRestart = traffic.answers.find((answer) => answer.at > restartedAt && answer.status < 300);
    expect(firstSuccessAfterRestart).toBeDefined();
    expect(firstSuccessAfterRestart!.at - restartedAt).toBeLessThan(5_000);

    for (const tenant of tenants) {
      const keys = await storedUsageKeys(tenant.slug);
      expect(keys.length).toBe(new Set(keys).size); // none doubled
      expect(new Set(keys)).toEqual(tenant.acknowledgedEvents); // none lost, none unacknowledged
      const tasks = await storedTaskIds(tenant.slug);
      expect(tenant.acknowledgedTasks.filter((id) => !tasks.has(id))).toEqual([]);
      expect(tenant.acknowledgedTasks.length).toBeGreaterThan(0);
    }
  });
});

describe('PostgreSQL stalled (SIGSTOP)', () => {
  it('answers 503 within the timeouts, /healthz 200 and /readyz 503 within a second, then recovers', async () => {
    const [tenant] = tenants;
    const stall = await postgres.stall();
    let answers;
    try {
      answers = await Promise.all([
        traffic.send('GET', '/healthz'),
        traffic.send('GET', '/readyz'),
        traffic.send('GET', '/v1/tasks', { token: tenant!.token }),
        traffic.send('POST', '/v1/tasks', { token: tenant!.token, body: { projectId: tenant!.projectId, title: 'during the stall' } }),
        traffic.send('POST', '/v1/usage/events', { token: tenant!.token, body: { events: [{ metric: 'storage_bytes', quantity: 1, idempotency_key: 'stall' }] } }),
      ]);
    } finally {
      stall.resume();
    }
    const [health, ready, ...work] = answers;
    expect(health).toMatchObject({ status: 200 });
    expect(health!.ms).toBeLessThan(1_000);
    expect(ready).toMatchObject({ status: 503, retryAfter: '1' });
    expect(ready!.ms).toBeLessThan(1_500);
    for (const answer of work) {
      expect(answer).toMatchObject({ status: 503, body: expect.objectContaining({ type: 'https://tenantry.dev/problems/database-unavailable' }) });
      expect(answer.ms).toBeLessThan(STALLED_ANSWER_WITHIN_MS);
    }
    await expect.poll(async () => (await traffic.send('GET', '/v1/tasks', { token: tenant!.token })).status, { timeout: 10_000 }).toBe(200);
    await expect.poll(async () => (await traffic.send('GET', '/readyz')).status, { timeout: 5_000 }).toBe(200);
    expect(traffic.unacceptable()).toEqual([]);
    expect(traffic.unhelpfulRefusals()).toEqual([]);
  });
});

describe('after the faults', () => {
  it('shuts down cleanly on request: no error-level line, and a last line saying so', async () => {
    const from = logLines.length;
    await server.stop();
    const lines = logLines.slice(from).map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(lines.filter((line) => line.level >= 50)).toEqual([]);
    expect(lines.at(-1)?.msg).toBe('shutdown completed');
  });
});
