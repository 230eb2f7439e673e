// Jobs are typed: enqueue takes a registered definition and a payload of its schema's type. A
// wrong one does not compile (each @ts-expect-error below fails `npm run typecheck` if it ever
// does), and from a caller without types it is refused at runtime before anything is written.

import { randomUUID } from 'node:crypto';
import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import type { Tx } from '../../src/db/database.js';
import type { TaskTables } from '../../src/domain/tasks/task-tables.js';
import { loadConfig } from '../../src/config.js';
import { defineServiceJob, defineTenantJob } from '../../src/jobs/define-job.js';
import { InvalidJobPayloadError } from '../../src/jobs/job-envelope.js';
import { Jobs, JobTenantError, UnknownJobError, type JobsOptions } from '../../src/jobs/jobs.js';
import { runWithContext } from '../../src/tenancy/context.js';
import { TEST_REGISTRY } from '../support/modules.js';
import { noteRun, serviceNote } from './support/test-jobs.js';
import { startJobsFixture, type JobsFixture } from './support/jobs-fixture.js';

let fixture: JobsFixture;
let tenantId: string;
const projectId = randomUUID();

beforeAll(async () => {
  fixture = await startJobsFixture();
  tenantId = await fixture.outbox.newTenant();
});

afterAll(async () => {
  await fixture.close();
});

/** Runs `work` in a unit of work of the test's tenant; a refusal rolls the unit back. */
function inUnit(work: (tx: Tx) => Promise<unknown>): Promise<unknown> {
  return fixture.inTenant(tenantId, work);
}

describe('a job definition', () => {
  it('gives its handler the payload type of its schema', () => {
    defineTenantJob({
      name: 'typed-handler',
      payload: Type.Object({ projectId: Type.String(), limit: Type.Optional(Type.Integer()) }),
      handler: async (data) => {
        expectTypeOf(data).toEqualTypeOf<{ projectId: string; limit?: number }>();
        // @ts-expect-error the schema has no such field
        void data.projectName;
      },
    });
  });

  it('must have a lowercase kebab-case name', () => {
    expect(() => defineServiceJob({ name: 'Purge_All', payload: Type.Object({}), handler: async () => {} })).toThrow(TypeError);
  });
});

describe('enqueueing a tenant job', () => {
  it('refuses a payload of the wrong type, at compile time and at runtime', async () => {
    await expect(
      // @ts-expect-error projectId is a string
      inUnit((tx) => fixture.jobs.enqueue(tx, tenantId, noteRun, { label: 'wrong-type', projectId: 42 })),
    ).rejects.toThrow(new InvalidJobPayloadError('job "note-run": payload/projectId must be string'));
  });

  it('refuses a payload without a required field, at compile time and at runtime', async () => {
    await expect(
      // @ts-expect-error projectId is required
      inUnit((tx) => fixture.jobs.enqueue(tx, tenantId, noteRun, { label: 'missing-field' })),
    ).rejects.toThrow(new InvalidJobPayloadError('job "note-run": payload must have required property \'projectId\''));
  });

  it('refuses a payload with a field its schema does not have, at compile time and at runtime', async () => {
    await expect(
      // @ts-expect-error no such field
      inUnit((tx) => fixture.jobs.enqueue(tx, tenantId, noteRun, { label: 'extra-field', projectId, priority: 1 })),
    ).rejects.toThrow(new InvalidJobPayloadError('job "note-run": payload must NOT have additional properties'));
  });

  it('refuses at runtime what only the schema can say (a string that is not a UUID)', async () => {
    await expect(inUnit((tx) => fixture.jobs.enqueue(tx, tenantId, noteRun, { label: 'bad-uuid', projectId: 'project-1' }))).rejects.toThrow(
      new InvalidJobPayloadError('job "note-run": payload/projectId must match format "uuid"'),
    );
  });

  it('refuses a job name instead of a definition', async () => {
    await expect(
      // @ts-expect-error a name is not a job
      inUnit((tx) => fixture.jobs.enqueue(tx, tenantId, 'note-run', { label: 'by-name', projectId })),
    ).rejects.toBeInstanceOf(UnknownJobError);
  });

  it('refuses a service job: a tenant’s unit of work never starts cross-tenant work', async () => {
    await expect(
      // @ts-expect-error a service job is not a tenant job
      inUnit((tx) => fixture.jobs.enqueue(tx, tenantId, serviceNote, { label: 'service-in-tenant' })),
    ).rejects.toBeInstanceOf(JobTenantError);
  });

  it('refuses a definition that is not registered with this queue, even one with a registered name', async () => {
    const unregistered = defineTenantJob({ name: 'not-registered', payload: Type.Object({}), handler: async () => {} });
    await expect(inUnit((tx) => fixture.jobs.enqueue(tx, tenantId, unregistered, {}))).rejects.toThrow(
      new UnknownJobError('job "not-registered" is not a job registered with this job queue'),
    );
    const lookalike = defineTenantJob({ name: 'note-run', payload: Type.Object({}), handler: async () => {} });
    await expect(inUnit((tx) => fixture.jobs.enqueue(tx, tenantId, lookalike, {}))).rejects.toBeInstanceOf(UnknownJobError);
  });

  it('refuses a tenant id that is not a UUID', async () => {
    await expect(inUnit((tx) => fixture.jobs.enqueue(tx, 'tenant-a', noteRun, { label: 'bad-tenant', projectId }))).rejects.toBeInstanceOf(
      JobTenantError,
    );
  });

  it('takes the unit of work of a database typed with a module’s own tables', async () => {
    const db = fixture.outbox.db.withTables<TaskTables>();
    await runWithContext({ requestId: 'typed-jobs', tenantId }, () =>
      db.tenant(async (tx) => {
        await tx.selectFrom('projects').select('id').execute();
        await fixture.jobs.enqueue(tx, tenantId, noteRun, { label: 'module-tables', projectId });
      }),
    );
    expect(await fixture.outbox.rows()).toMatchObject([{ tenant_id: tenantId, payload: { job: 'note-run', data: { label: 'module-tables' } } }]);
    await fixture.outbox.database.admin.query('DELETE FROM outbox');
  });

  it('wrote nothing for any refused enqueue', async () => {
    expect(await fixture.outbox.rows()).toEqual([]);
  });
});

describe('enqueueing a service job directly', () => {
  it('refuses a tenant job: those go through their tenant’s unit of work', async () => {
    // @ts-expect-error a tenant job is not a service job
    await expect(fixture.jobs.enqueueDirect(noteRun, { label: 'tenant-direct', projectId })).rejects.toBeInstanceOf(JobTenantError);
  });

  it('refuses a payload its schema does not accept', async () => {
    // @ts-expect-error label is a string
    await expect(fixture.jobs.enqueueDirect(serviceNote, { label: 7 })).rejects.toBeInstanceOf(InvalidJobPayloadError);
    expect(await fixture.queued()).toEqual([]);
  });
});

describe('a job queue', () => {
  const options = (overrides: Partial<JobsOptions>): JobsOptions => ({
    pool: fixture.outbox.pool,
    dependencies: { db: fixture.outbox.db, clock: systemClock, config: loadConfig({}), logger: fixture.outbox.logger, modules: TEST_REGISTRY },
    definitions: [noteRun, serviceNote],
    ...overrides,
  });

  it('refuses two jobs of one name', () => {
    const twin = defineServiceJob({ name: 'service-note', payload: Type.Object({}), handler: async () => {} });
    expect(() => new Jobs(options({ definitions: [serviceNote, twin] }))).toThrow('two jobs are named "service-note"');
  });

  it('refuses a schedule of a tenant job, of an unregistered job, or of a job that needs a payload', () => {
    // @ts-expect-error a schedule has no tenant: it runs service jobs only
    expect(() => new Jobs(options({ schedules: [{ job: noteRun, cron: '* * * * *' }] }))).toThrow(TypeError);
    const elsewhere = defineServiceJob({ name: 'elsewhere', payload: Type.Object({}), handler: async () => {} });
    expect(() => new Jobs(options({ schedules: [{ job: elsewhere, cron: '* * * * *' }] }))).toThrow(TypeError);
    expect(() => new Jobs(options({ schedules: [{ job: serviceNote, cron: '0 * * * *' }] }))).toThrow(
      'schedule "0 * * * *" of "service-note": job "service-note": payload must have required property \'label\'',
    );
  });
});
