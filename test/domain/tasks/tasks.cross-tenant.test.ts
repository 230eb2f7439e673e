// Tenant B, with its owner's token and its API key, tries every project, task and project
// member route on tenant A's ids: always a 4xx that says no more than for a made-up id, and A's rows unchanged.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, expectProblem, signUp, type SignedUpTenant } from '../../support/fixtures.js';
import { startTestApp, type TestApp } from '../../support/test-app.js';
import { taskApi, type TaskApi } from './task-api.js';

const MADE_UP_ID = '01a2081f-9f83-7779-921b-000000000000';

let testApp: TestApp;
let api: TaskApi;
let a: SignedUpTenant;
let b: SignedUpTenant;
/** Tenant A's rows under attack. */
const mine = { projectId: '', taskId: '', memberId: '', title: '' };
/** Tenant B's own project and task, used as the starting point of attacks. */
const theirs = { projectId: '', taskId: '' };

async function tenantRows(tenantId: string) {
  const query = (table: string, order: string) =>
    testApp.database.admin.query(`SELECT * FROM ${table} WHERE tenant_id = $1 ORDER BY ${order}`, [tenantId]).then((r) => r.rows);
  return {
    projects: await query('projects', 'id'),
    tasks: await query('tasks', 'id'),
    projectMembers: await query('project_members', 'project_id, user_id'),
  };
}

/** A problem body without the fields that differ per request, to compare two answers. */
function comparable(body: Record<string, unknown>): Record<string, unknown> {
  const { instance: _instance, request_id: _requestId, ...rest } = body;
  return rest;
}

beforeAll(async () => {
  testApp = await startTestApp();
  api = taskApi(testApp);
  a = await signUp(testApp.app);
  b = await signUp(testApp.app);
  mine.title = `secret-${a.slug}`;
  mine.projectId = (await api.createProject(a.accessToken, 'Shared name')).id;
  mine.memberId = await api.addTenantMember(a);
  mine.taskId = (await api.createTask(a.accessToken, mine.projectId, { title: mine.title, assigneeId: mine.memberId })).id;
  expect((await api.call(a.accessToken, 'POST', `/v1/projects/${mine.projectId}/members`, { userId: mine.memberId })).statusCode).toBe(201);
  theirs.projectId = (await api.createProject(b.accessToken)).id;
  theirs.taskId = (await api.createTask(b.accessToken, theirs.projectId)).id;
});

afterAll(async () => {
  await testApp.close();
});

describe.each([
  ['owner access token', () => b.accessToken],
  ['API key', () => b.apiKey],
])("tenant B's %s on tenant A's rows", (_name, credential) => {
  let before: Awaited<ReturnType<typeof tenantRows>>;

  beforeAll(async () => {
    before = await tenantRows(a.tenantId);
  });

  afterAll(async () => {
    expect(await tenantRows(a.tenantId)).toEqual(before);
  });

  const byId: [string, 'GET' | 'PATCH' | 'DELETE', () => string, unknown][] = [
    ['reads a project', 'GET', () => `/v1/projects/${mine.projectId}`, undefined],
    ['renames a project', 'PATCH', () => `/v1/projects/${mine.projectId}`, { name: 'pwned' }],
    ['deletes a project', 'DELETE', () => `/v1/projects/${mine.projectId}`, undefined],
    ['lists project members', 'GET', () => `/v1/projects/${mine.projectId}/members`, undefined],
    ['removes a project member', 'DELETE', () => `/v1/projects/${mine.projectId}/members/${mine.memberId}`, undefined],
    ['reads a task', 'GET', () => `/v1/tasks/${mine.taskId}`, undefined],
    ['changes a task', 'PATCH', () => `/v1/tasks/${mine.taskId}`, { title: 'pwned', status: 'done' }],
    ['deletes a task', 'DELETE', () => `/v1/tasks/${mine.taskId}`, undefined],
    ['filters tasks by project', 'GET', () => `/v1/tasks?projectId=${mine.projectId}`, undefined],
  ];

  it.each(byId)('gets 404 when it %s, the same answer as for a made-up id', async (_what, method, url, payload) => {
    const real = expectProblem(await api.call(credential(), method, url(), payload), 404, 'not-found');
    const fake = await api.call(credential(), method, url().replaceAll(mine.projectId, MADE_UP_ID).replaceAll(mine.taskId, MADE_UP_ID), payload);
    expect(comparable(real)).toEqual(comparable(fake.json()));
  });

  it('gets 404 adding anyone to a project of A', async () => {
    for (const userId of [mine.memberId, b.userId]) {
      expectProblem(await api.call(credential(), 'POST', `/v1/projects/${mine.projectId}/members`, { userId }), 404, 'not-found');
    }
  });

  it("never sees A's projects or tasks in lists, filters or searches", async () => {
    const projects = (await api.call(credential(), 'GET', '/v1/projects?limit=100')).json();
    expect(projects.data.map((p: { id: string }) => p.id)).toEqual([theirs.projectId]);
    for (const query of ['limit=100', `assigneeId=${mine.memberId}`, `q=${mine.title}`, 'q=secret', 'status=todo']) {
      const tasks = (await api.call(credential(), 'GET', `/v1/tasks?${query}`)).json();
      expect(tasks.data.map((t: { id: string }) => t.id)).not.toContain(mine.taskId);
      expect(JSON.stringify(tasks)).not.toContain(a.tenantId);
    }
  });

  it("gets 400 creating a task in A's project, or assigned to A's member", async () => {
    const inA = await api.call(credential(), 'POST', '/v1/tasks', { projectId: mine.projectId, title: 'intruder' });
    expect((expectProblem(inA, 400, 'validation-failed').errors as { field: string }[])[0]!.field).toBe('body.projectId');
    const toA = await api.call(credential(), 'POST', '/v1/tasks', { projectId: theirs.projectId, title: 'intruder', assigneeId: mine.memberId });
    expect((expectProblem(toA, 400, 'validation-failed').errors as { field: string }[])[0]!.field).toBe('body.assigneeId');
    const made = await api.call(credential(), 'POST', '/v1/tasks', { projectId: MADE_UP_ID, title: 'intruder' });
    expect(comparable(expectProblem(made, 400))).toEqual(comparable(inA.json()));
    const { rows } = await testApp.database.admin.query("SELECT count(*)::int AS n FROM tasks WHERE title = 'intruder'");
    expect(rows[0].n).toBe(0);
  });

  it("gets 400 moving its own task into A's project or assigning it to A's member", async () => {
    const own = (await api.call(credential(), 'GET', `/v1/tasks/${theirs.taskId}`)).json();
    for (const change of [{ projectId: mine.projectId }, { assigneeId: mine.memberId }]) {
      expectProblem(await api.call(credential(), 'PATCH', `/v1/tasks/${theirs.taskId}`, change), 400, 'validation-failed');
    }
    expect((await api.call(credential(), 'GET', `/v1/tasks/${theirs.taskId}`)).json()).toEqual(own);
  });

  it("gets 400 adding A's member to its own project", async () => {
    const response = await api.call(credential(), 'POST', `/v1/projects/${theirs.projectId}/members`, { userId: mine.memberId });
    expect(expectProblem(response, 400, 'validation-failed').errors).toEqual([{ field: 'body.userId', message: 'is not a member of this tenant' }]);
    const { rows } = await testApp.database.admin.query('SELECT count(*)::int AS n FROM project_members WHERE tenant_id = $1', [b.tenantId]);
    expect(rows[0].n).toBe(0);
  });

  it('gets 403 naming tenant A in X-Tenant-ID', async () => {
    const response = await testApp.app.inject({
      method: 'GET',
      url: `/v1/tasks/${mine.taskId}`,
      headers: { ...bearer(credential()), 'x-tenant-id': a.tenantId },
    });
    expect(response.statusCode).toBe(403);
  });
});

describe('names are per tenant', () => {
  it("lets B take a project name A uses, so a 409 never reveals A's names", async () => {
    const response = await api.call(b.accessToken, 'POST', '/v1/projects', { name: 'shared NAME' });
    expect(response.statusCode).toBe(201);
    await api.call(b.accessToken, 'DELETE', `/v1/projects/${response.json().id}`);
  });
});

describe("tenant A's view afterwards", () => {
  it('still sees its project, task and project member unchanged', async () => {
    expect((await api.call(a.accessToken, 'GET', `/v1/tasks/${mine.taskId}`)).json()).toMatchObject({
      title: mine.title,
      status: 'todo',
      projectId: mine.projectId,
      assigneeId: mine.memberId,
    });
    expect((await api.call(a.accessToken, 'GET', `/v1/projects/${mine.projectId}`)).json().name).toBe('Shared name');
    const members = (await api.call(a.accessToken, 'GET', `/v1/projects/${mine.projectId}/members`)).json();
    expect(members.data.map((m: { userId: string }) => m.userId)).toEqual([mine.memberId]);
  });
});
