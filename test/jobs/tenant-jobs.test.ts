// A job carries the tenant of the request that queued it (through the outbox) and runs as that
// tenant, through both isolation layers; a job without a tenant fails; no context leaks across.

import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeWorkerUtils, type WorkerUtils } from 'graphile-worker';
import { sql } from 'kysely';
import pg from 'pg';
import { Type, type Static } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { access, actorOf } from '../../src/http/access.js';
import { Uuid } from '../../src/http/common-schemas.js';
import { createPool } from '../../src/db/database.js';
import { defineServiceJob, defineTenantJob } from '../../src/jobs/define-job.js';
import { EMAIL_TOPIC } from '../../src/email/transactional-email.js';
import { JOB_ENQUEUE_TOPIC } from '../../src/jobs/job-outbox.js';
import { Jobs } from '../../src/jobs/jobs.js';
import { migrateQueue } from '../../src/jobs/migrate-queue.js';
import { OutboxRelay } from '../../src/outbox/outbox-relay.js';
import { currentContext, runWithContext } from '../../src/tenancy/context.js';
import { bearer, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { TEST_ROLES } from '../support/roles.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import type { TaskTables } from '../../src/domain/tasks/task-tables.js';

interface Observation {
  readonly label: string;
  readonly contextTenantId: string | undefined;
  readonly contextRequestId: string | undefined;
  readonly settingTenantId: string | null;
  readonly projects: string[];
  /** Rows found when asking for the other tenant's rows by tenant_id. */
  readonly otherTenantRows: number;
  /** Whether the job it was told to meet had its transaction open while this one's was. */
  readonly met?: boolean;
}

const ProbeData = Type.Object(
  {
    label: Type.String({ minLength: 1 }),
    otherTenantId: Type.Optional(Uuid),
    /** Another probe's label: hold the transaction open until that probe's is open too. */
    meet: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
type ProbeData = Static<typeof ProbeData>;

const observations = new Map<string, Observation>();
/** Labels of probes whose transaction is open, or was. */
const inTransaction = new Set<string>();
/** How long a probe waits for the one it meets: far longer than a busy worker takes to start it. */
const MEET_DEADLINE_MS = 20_000;

async function waitFor(label: string): Promise<boolean> {
  const deadline = Date.now() + MEET_DEADLINE_MS;
  while (!inTransaction.has(label)) {
    if (Date.now() > deadline) return false;
    await sleep(10);
  }
  return true;
}

const probe = defineTenantJob({
  name: 'probe-tenant',
  payload: ProbeData,
  handler: async (data, { db }) => {
    const context = currentContext();
    const seen = await db.withTables<TaskTables>().tenant(async (tx) => {
      const setting = await sql<{ tenant: string | null }>`select current_setting('app.tenant_id', true) as tenant`.execute(tx);
      inTransaction.add(data.label);
      // Both transactions open at once, each on its own connection: the jobs really overlap.
      const met = data.meet === undefined ? undefined : await waitFor(data.meet);
      const projects = await tx.selectFrom('projects').select('name').orderBy('name').execute();
      const other = data.otherTenantId
        ? await tx.selectFrom('projects').select('id').where('tenant_id', '=', data.otherTenantId).execute()
        : [];
      return { setting: setting.rows[0]!.tenant, projects: projects.map((row) => row.name), otherTenantRows: other.length, met };
    });
    observations.set(data.label, {
      label: data.label,
      contextTenantId: context?.tenantId,
      contextRequestId: context?.requestId,
      settingTenantId: seen.setting,
      projects: seen.projects,
      otherTenantRows: seen.otherTenantRows,
      ...(seen.met === undefined ? {} : { met: seen.met }),
    });
  },
});

const serviceProbe = defineServiceJob({
  name: 'probe-service',
  payload: Type.Object({ label: Type.String() }, { additionalProperties: false }),
  handler: async (data, { db }) => {
    const context = currentContext();
    // db.tenant() refuses synchronously without a tenant; the async wrapper turns that into a rejection.
    const tenantWork = await (async () => db.tenant(async () => 'ran'))().catch((error: Error) => error.name);
    observations.set(data.label, {
      label: data.label,
      contextTenantId: context?.tenantId,
      contextRequestId: context?.requestId,
      settingTenantId: tenantWork,
      projects: [],
      otherTenantRows: 0,
    });
  },
});

type Outcome = { ok: true; jobId: string } | { ok: false; jobId: string; error: unknown };

let testApp: TestApp;
let jobs: Jobs;
let relay: OutboxRelay;
let workerPool: pg.Pool;
/** The relay's, pipelining as the server's service pool is (it sends its opening statements together). */
let relayPool: pg.Pool;
let rawQueue: WorkerUtils;
let tenantA: SignedUpTenant;
let tenantB: SignedUpTenant;
/** By the label in the job's data: a job enqueued through the outbox has no id until the relay adds it. */
const outcomes = new Map<string, Outcome>();
const waiting = new Map<string, (outcome: Outcome) => void>();

function settle(payload: unknown, outcome: Outcome): void {
  const label = (payload as { data?: { label?: unknown } } | null)?.data?.label;
  if (typeof label !== 'string') return;
  outcomes.set(label, outcome);
  waiting.get(label)?.(outcome);
}

/** A job's outcome, once the worker ran it; the deadline leaves room for a busy machine and for MEET_DEADLINE_MS. */
function outcomeOf(label: string, timeoutMs = 45_000): Promise<Outcome> {
  const known = outcomes.get(label);
  if (known) return Promise.resolve(known);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`job "${label}" did not finish in ${timeoutMs} ms`)), timeoutMs);
    waiting.set(label, (outcome) => {
      clearTimeout(timer);
      resolve(outcome);
    });
  });
}

async function addProject(tenantId: string, name: string): Promise<void> {
  await testApp.database.admin.query('INSERT INTO projects (tenant_id, id, name) VALUES ($1, $2, $3)', [tenantId, randomUUID(), name]);
}

/** Enqueues in a real request's unit of work; `asTenant` names another tenant than the request's. */
async function enqueueInRequest(tenant: SignedUpTenant, data: ProbeData, options: { requestId?: string; asTenant?: string } = {}) {
  const response = await testApp.app.inject({
    method: 'POST',
    url: '/test/jobs/probe',
    headers: {
      ...bearer(tenant.accessToken),
      'x-tenant-id': tenant.tenantId,
      ...(options.requestId ? { 'x-request-id': options.requestId } : {}),
    },
    payload: { data, asTenant: options.asTenant },
  });
  if (response.statusCode !== 200) throw new Error(`enqueue failed: ${response.statusCode} ${response.body}`);
  return response.json() as { enqueued: true } | { refused: string };
}

beforeAll(async () => {
  testApp = await startTestApp({}, {
    extend: (app, services) => {
      // A test-only route: enqueues in the unit of work of a real request, after the access layer ran.
      app.post('/test/jobs/probe', { config: { access: access.tenant('member') } }, async (request) => {
        const body = request.body as { data: ProbeData; asTenant?: string };
        try {
          await services.db.tenant((tx) => jobs.enqueue(tx, body.asTenant ?? actorOf(request).tenantId, probe, body.data));
          return { enqueued: true };
        } catch (error) {
          return { refused: (error as Error).name };
        }
      });
    },
  });
  workerPool = new pg.Pool({ connectionString: testApp.database.url, max: 8 });
  jobs = new Jobs({
    pool: workerPool,
    dependencies: {
      db: testApp.services.db,
      modules: testApp.services.modules,
      clock: testApp.services.clock,
      config: testApp.services.config,
      logger: testApp.services.logger,
    },
    definitions: [probe, serviceProbe],
  });
  relayPool = createPool(testApp.database.url, 4, testApp.services.logger);
  relay = new OutboxRelay({
    pool: relayPool,
    serviceRole: TEST_ROLES.service,
    logger: testApp.services.logger,
    // Sign-up queues a verification email first: the server's email consumer delivers it, as in production.
    consumers: new Map([
      [JOB_ENQUEUE_TOPIC, jobs.outboxConsumer],
      [EMAIL_TOPIC, testApp.services.email.outboxConsumer],
    ]),
    pollIntervalMs: 200,
  });
  await migrateQueue(testApp.database.url, TEST_ROLES, testApp.services.logger);
  jobs.events.on('job:success', ({ job }) => settle(job.payload, { ok: true, jobId: String(job.id) }));
  jobs.events.on('job:error', ({ job, error }) => settle(job.payload, { ok: false, jobId: String(job.id), error }));
  rawQueue = await makeWorkerUtils({ pgPool: workerPool });

  tenantA = await signUp(testApp.app);
  tenantB = await signUp(testApp.app);
  await addProject(tenantA.tenantId, 'alpha-1');
  await addProject(tenantA.tenantId, 'alpha-2');
  await addProject(tenantB.tenantId, 'bravo-1');

  // Deliberately start the worker and the relay inside tenant A's context: every job must still
  // run in its own context, so nothing from here may reach a B job or a service job.
  await runWithContext({ requestId: 'worker-start', tenantId: tenantA.tenantId }, async () => {
    await jobs.start({ concurrency: 2, pollIntervalMs: 200 });
    relay.start();
  });
});

afterAll(async () => {
  await relay?.stop();
  await jobs?.stop();
  await rawQueue?.release();
  await workerPool?.end();
  await relayPool?.end();
  await testApp?.close();
});

describe('tenant jobs', () => {
  it('runs a job enqueued during tenant A’s request as tenant A, seeing only A’s rows', async () => {
    expect(await enqueueInRequest(tenantA, { label: 'a-basic', otherTenantId: tenantB.tenantId })).toEqual({ enqueued: true });
    const outcome = await outcomeOf('a-basic');
    expect(outcome.ok).toBe(true);
    const seen = observations.get('a-basic')!;
    expect(seen.contextTenantId).toBe(tenantA.tenantId);
    expect(seen.contextRequestId).toBe(`job:${outcome.jobId}`);
    expect(seen.settingTenantId).toBe(tenantA.tenantId);
    expect(seen.projects).toEqual(['alpha-1', 'alpha-2']);
    expect(seen.otherTenantRows).toBe(0);
  });

  it('keeps the enqueuing request’s id in the payload for tracing', async () => {
    await enqueueInRequest(tenantB, { label: 'b-trace' }, { requestId: 'req-trace-42' });
    const { jobId, ok } = await outcomeOf('b-trace');
    expect(ok).toBe(true);
    const lines = testApp.logs().split('\n').filter((line) => line.includes(`"request_id":"job:${jobId}"`));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines[0]).toContain('"origin_request_id":"req-trace-42"');
    expect(lines[0]).toContain(`"tenant_id":"${tenantB.tenantId}"`);
  });

  it('refuses, inside a request, to enqueue a job for another tenant, and leaves no trace of it', async () => {
    const refused = await enqueueInRequest(tenantA, { label: 'a-as-b' }, { asTenant: tenantB.tenantId });
    // The outbox row names another tenant than the unit's: the query filter refuses it (and RLS would).
    expect(refused).toEqual({ refused: 'TenantScopeViolation' });
    const { rows } = await testApp.database.admin.query("SELECT 1 FROM outbox WHERE payload -> 'data' ->> 'label' = 'a-as-b'");
    expect(rows).toEqual([]);
  });

  it('fails a queued job whose payload names no tenant, without running its handler', async () => {
    await rawQueue.addJob('probe-tenant', { data: { label: 'no-tenant' } }, { maxAttempts: 1 });
    const outcome = await outcomeOf('no-tenant');
    expect(outcome.ok).toBe(false);
    expect((outcome as { error: Error }).error.name).toBe('MissingJobTenantError');
    expect(observations.has('no-tenant')).toBe(false);
  });

  it('fails a queued job whose tenant id is malformed', async () => {
    await rawQueue.addJob('probe-tenant', { tenantId: "x' OR true", data: { label: 'bad-tenant' } }, { maxAttempts: 1 });
    const outcome = await outcomeOf('bad-tenant');
    expect(outcome.ok).toBe(false);
    expect(observations.has('bad-tenant')).toBe(false);
  });

  it('fails a queued job whose payload its schema refuses, without running its handler', async () => {
    const data = { label: 'bad-payload', otherTenantId: 'not-a-uuid' };
    await rawQueue.addJob('probe-tenant', { tenantId: tenantA.tenantId, data }, { maxAttempts: 1 });
    const outcome = await outcomeOf('bad-payload');
    expect(outcome.ok).toBe(false);
    expect((outcome as { error: Error }).error).toMatchObject({
      name: 'InvalidJobPayloadError',
      message: 'job "probe-tenant": payload/otherTenantId must match format "uuid"',
    });
    expect(observations.has('bad-payload')).toBe(false);
  });

  it('runs jobs of two tenants concurrently, each seeing only its own rows', async () => {
    await Promise.all([
      enqueueInRequest(tenantA, { label: 'a-concurrent', otherTenantId: tenantB.tenantId, meet: 'b-concurrent' }),
      enqueueInRequest(tenantB, { label: 'b-concurrent', otherTenantId: tenantA.tenantId, meet: 'a-concurrent' }),
    ]);
    expect(await outcomeOf('a-concurrent')).toMatchObject({ ok: true });
    expect(await outcomeOf('b-concurrent')).toMatchObject({ ok: true });
    const seenA = observations.get('a-concurrent')!;
    const seenB = observations.get('b-concurrent')!;
    // Each read its rows with the other's transaction open: they overlapped.
    expect(seenA).toMatchObject({ met: true, contextTenantId: tenantA.tenantId, settingTenantId: tenantA.tenantId, projects: ['alpha-1', 'alpha-2'], otherTenantRows: 0 });
    expect(seenB).toMatchObject({ met: true, contextTenantId: tenantB.tenantId, settingTenantId: tenantB.tenantId, projects: ['bravo-1'], otherTenantRows: 0 });
  });

  it('does not leak one job’s context into the next, nor the worker’s into any job', async () => {
    const labels = Array.from({ length: 6 }, (_, i) => `leak-${i}`);
    for (const [i, label] of labels.entries()) await enqueueInRequest(i % 2 === 0 ? tenantA : tenantB, { label });
    const service = await jobs.enqueueDirect(serviceProbe, { label: 'leak-service' });
    for (const label of labels) expect(await outcomeOf(label)).toMatchObject({ ok: true });
    expect(await outcomeOf('leak-service')).toEqual({ ok: true, jobId: service.id });
    for (const [i, label] of labels.entries()) {
      const tenant = i % 2 === 0 ? tenantA : tenantB;
      expect(observations.get(label), label).toMatchObject({ contextTenantId: tenant.tenantId, settingTenantId: tenant.tenantId });
    }
    // The worker was started inside A's context; a service job still has no tenant at all.
    const seenService = observations.get('leak-service')!;
    expect(seenService.contextTenantId).toBeUndefined();
    expect(seenService.contextRequestId).toBe(`job:${service.id}`);
    expect(seenService.settingTenantId).toBe('MissingTenantContextError');
    // And the test's own context is untouched by all of this.
    expect(currentContext()).toBeUndefined();
  });

  it('keeps the queue schema owned by the owner role, with no access for the app role', async () => {
    const { rows: owners } = await testApp.database.admin.query(
      `SELECT DISTINCT r.rolname AS owner FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_roles r ON r.oid = c.relowner
       WHERE n.nspname = 'graphile_worker'
       UNION
       SELECT DISTINCT r.rolname FROM pg_proc p
         JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_roles r ON r.oid = p.proowner
       WHERE n.nspname = 'graphile_worker'`,
    );
    expect(owners).toEqual([{ owner: TEST_ROLES.owner }]);
    const { rows } = await testApp.database.admin.query(
      "SELECT has_schema_privilege($1, 'graphile_worker', 'USAGE') AS usage",
      [TEST_ROLES.app],
    );
    expect(rows).toEqual([{ usage: false }]);
  });

  it('skips a tenant job whose tenant was deleted after it was queued', async () => {
    const tenantC = await signUp(testApp.app);
    await addProject(tenantC.tenantId, 'charlie-1');
    await testApp.database.admin.query("UPDATE tenants SET status = 'deleted', deleted_at = now() WHERE id = $1", [tenantC.tenantId]);
    await rawQueue.addJob('probe-tenant', { tenantId: tenantC.tenantId, data: { label: 'c-deleted' } });
    expect(await outcomeOf('c-deleted')).toMatchObject({ ok: true });
    expect(observations.has('c-deleted')).toBe(false);
  });
});
