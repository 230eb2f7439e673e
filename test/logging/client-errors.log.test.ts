// Expected client errors (409, 400) are logged as at most one info line without a stack:
// an operator's warn level is for faults, not for a taken name or a bad header.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, signUp, uniqueSlug } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { taskApi } from '../domain/tasks/task-api.js';

let testApp: TestApp;

beforeAll(async () => {
  testApp = await startTestApp();
});

afterAll(async () => {
  await testApp.close();
});

interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** The log lines written while `send` ran, raw and parsed. */
async function logsOf(send: () => Promise<unknown>): Promise<{ raw: string; lines: LogLine[] }> {
  const before = testApp.logs().length;
  await send();
  const raw = testApp.logs().slice(before);
  return { raw, lines: raw.split('\n').filter(Boolean).map((line) => JSON.parse(line) as LogLine) };
}

function expectQuiet({ raw, lines }: { raw: string; lines: LogLine[] }): void {
  expect(lines.filter((line) => line.level >= 40)).toEqual([]);
  expect(raw).not.toContain('"stack"');
  expect(raw).not.toMatch(/\n\s+at /);
}

describe('the log of an expected client error', () => {
  it('has no warn line and no stack for a 409 raised by a unique violation, and names the constraint', async () => {
    const tenant = await signUp(testApp.app);
    const api = taskApi(testApp);
    await api.createProject(tenant.accessToken, 'Twice');
    const logs = await logsOf(async () => {
      expectProblem(await api.call(tenant.accessToken, 'POST', '/v1/projects', { name: 'Twice' }), 409, 'conflict');
    });
    expectQuiet(logs);
    expect(logs.lines.filter((line) => line.code === 'conflict')).toEqual([
      expect.objectContaining({ level: 30, sqlstate: '23505', constraint: expect.any(String) }),
    ]);
  });

  it('has no warn line and no stack for a 409 duplicate slug', async () => {
    const slug = uniqueSlug('twice');
    await signUp(testApp.app, { slug });
    const logs = await logsOf(async () => {
      const again = await testApp.app.inject({
        method: 'POST',
        url: '/v1/tenants',
        payload: { name: 'Again', slug, owner: { email: `${slug}-2@example.test`, password: 'correct horse battery', name: 'Two' } },
      });
      expectProblem(again, 409, 'slug-taken');
    });
    expectQuiet(logs);
  });

  it('has no warn line and no stack for a 400 the database refused (a NUL in X-Tenant-ID)', async () => {
    const tenant = await signUp(testApp.app);
    const logs = await logsOf(async () => {
      const response = await testApp.app.inject({ method: 'GET', url: '/v1/tenant/branding', headers: { 'x-tenant-id': `${tenant.slug}\u0000` } });
      expectProblem(response, 400, 'validation-failed');
    });
    expectQuiet(logs);
    expect(logs.lines.filter((line) => line.msg === 'the database refused a value from the request')).toHaveLength(1);
  });

  it('has no warn line and no stack for a 400 that fails the schema', async () => {
    const logs = await logsOf(async () => {
      const response = await testApp.app.inject({ method: 'POST', url: '/v1/tenants', payload: { name: '', slug: 'x' } });
      expectProblem(response, 400, 'validation-failed');
    });
    expectQuiet(logs);
  });
});
