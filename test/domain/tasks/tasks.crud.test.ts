// /v1/tasks by id: create, read, change, move, assign and delete; references only to live
// projects and members of the tenant; viewers read only; deleted tasks are gone to every route.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, signUp, type SignedUpTenant } from '../../support/fixtures.js';
import { startTestApp, type TestApp } from '../../support/test-app.js';
import { taskApi, type TaskApi } from './task-api.js';

const UNKNOWN_ID = '01a2081f-9f83-7779-921b-000000000000';

let testApp: TestApp;
let api: TaskApi;
let tenant: SignedUpTenant;
let projectId: string;

beforeAll(async () => {
  testApp = await startTestApp();
  api = taskApi(testApp);
  tenant = await signUp(testApp.app);
  // Many members join this tenant below: past the free plan's seats (3).
  await testApp.database.admin.query("UPDATE tenants SET plan = 'promax' WHERE id = $1", [tenant.tenantId]);
  projectId = (await api.createProject(tenant.accessToken)).id;
});

afterAll(async () => {
  await testApp.close();
});

function fieldOf(body: Record<string, unknown>): string {
  return (body.errors as { field: string }[])[0]!.field;
}

describe('creating a task', () => {
  it('returns 201 with defaults filled in, in camelCase, without tenant_id', async () => {
    const response = await api.call(tenant.accessToken, 'POST', '/v1/tasks', { projectId, title: 'Write the plan' });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      projectId,
      title: 'Write the plan',
      description: '',
      status: 'todo',
      assigneeId: null,
      createdBy: tenant.userId,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(response.body).not.toMatch(/tenant/i);
  });

  it('accepts every field, with an assignee who is a member of the tenant', async () => {
    const assigneeId = await api.addTenantMember(tenant, 'viewer');
    const task = await api.createTask(tenant.accessToken, projectId, { description: 'details', status: 'in_progress', assigneeId });
    expect(task).toMatchObject({ description: 'details', status: 'in_progress', assigneeId });
  });

  it.each([
    [{ title: 'no project' }, 'body.projectId'],
    [{ projectId: 'not-a-uuid', title: 'x' }, 'body.projectId'],
    [{ title: '' }, 'body.title'],
    [{ title: ' \t ' }, 'body.title'],
    [{ title: 'x'.repeat(501) }, 'body.title'],
    [{ title: 'x', status: 'blocked' }, 'body.status'],
    [{ title: 'x', description: 'x'.repeat(20_001) }, 'body.description'],
    [{ title: 'x', assigneeId: 'nobody' }, 'body.assigneeId'],
    [{ title: 'x', tenant_id: UNKNOWN_ID }, 'body.tenant_id'],
  ])('returns 400 for %j', async (fields, field) => {
    const payload = 'projectId' in fields || field === 'body.projectId' ? fields : { projectId, ...fields };
    const body = expectProblem(await api.call(tenant.accessToken, 'POST', '/v1/tasks', payload), 400, 'validation-failed');
    expect(fieldOf(body)).toBe(field);
  });

  it('returns 400 naming projectId for a project that does not exist, and writes nothing', async () => {
    const body = expectProblem(
      await api.call(tenant.accessToken, 'POST', '/v1/tasks', { projectId: UNKNOWN_ID, title: 'orphan' }),
      400,
      'validation-failed',
    );
    expect(fieldOf(body)).toBe('body.projectId');
    const { rows } = await testApp.database.admin.query("SELECT count(*)::int AS n FROM tasks WHERE title = 'orphan'");
    expect(rows[0].n).toBe(0);
  });

  it('returns 400 for a deleted project', async () => {
    const project = await api.createProject(tenant.accessToken);
    await api.call(tenant.accessToken, 'DELETE', `/v1/projects/${project.id}`);
    const response = await api.call(tenant.accessToken, 'POST', '/v1/tasks', { projectId: project.id, title: 'late' });
    expect(fieldOf(expectProblem(response, 400, 'validation-failed'))).toBe('body.projectId');
  });

  it('returns 400 naming assigneeId for a user who is not, or no longer, a member', async () => {
    const stranger = await signUp(testApp.app);
    const unknown = await api.call(tenant.accessToken, 'POST', '/v1/tasks', { projectId, title: 'x', assigneeId: stranger.userId });
    expect(fieldOf(expectProblem(unknown, 400, 'validation-failed'))).toBe('body.assigneeId');

    const leaver = await api.addTenantMember(tenant);
    expect((await api.call(tenant.accessToken, 'DELETE', `/v1/members/${leaver}`)).statusCode).toBe(204);
    const removed = await api.call(tenant.accessToken, 'POST', '/v1/tasks', { projectId, title: 'gone', assigneeId: leaver });
    expect(fieldOf(expectProblem(removed, 400, 'validation-failed'))).toBe('body.assigneeId');
    const { rows } = await testApp.database.admin.query("SELECT count(*)::int AS n FROM tasks WHERE title = 'gone'");
    expect(rows[0].n).toBe(0);
  });
});

describe('reading a task', () => {
  it('returns it by id, and 404 for an unknown id', async () => {
    const task = await api.createTask(tenant.accessToken, projectId);
    const response = await api.call(tenant.accessToken, 'GET', `/v1/tasks/${task.id}`);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual(task);
    expectProblem(await api.call(tenant.accessToken, 'GET', `/v1/tasks/${UNKNOWN_ID}`), 404, 'not-found');
  });
});

describe('changing a task', () => {
  it('changes title, description and status and moves updatedAt', async () => {
    const task = await api.createTask(tenant.accessToken, projectId);
    testApp.clock.advance(60);
    const response = await api.call(tenant.accessToken, 'PATCH', `/v1/tasks/${task.id}`, {
      title: 'New title',
      description: 'New text',
      status: 'done',
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ id: task.id, title: 'New title', description: 'New text', status: 'done', createdAt: task.createdAt });
    expect(response.json().updatedAt > task.updatedAt).toBe(true);
  });

  it('assigns, reassigns and unassigns', async () => {
    const [first, second] = [await api.addTenantMember(tenant), await api.addTenantMember(tenant)];
    const task = await api.createTask(tenant.accessToken, projectId);
    const patch = (assigneeId: string | null) => api.call(tenant.accessToken, 'PATCH', `/v1/tasks/${task.id}`, { assigneeId });
    expect((await patch(first)).json().assigneeId).toBe(first);
    expect((await patch(second)).json().assigneeId).toBe(second);
    expect((await patch(null)).json().assigneeId).toBeNull();
  });

  it('moves a task to another live project, and refuses a deleted one', async () => {
    const task = await api.createTask(tenant.accessToken, projectId);
    const target = await api.createProject(tenant.accessToken);
    const moved = await api.call(tenant.accessToken, 'PATCH', `/v1/tasks/${task.id}`, { projectId: target.id });
    expect(moved.json().projectId).toBe(target.id);

    const doomed = await api.createProject(tenant.accessToken);
    await api.call(tenant.accessToken, 'DELETE', `/v1/projects/${doomed.id}`);
    const refused = await api.call(tenant.accessToken, 'PATCH', `/v1/tasks/${task.id}`, { projectId: doomed.id, title: 'not applied' });
    expect(fieldOf(expectProblem(refused, 400, 'validation-failed'))).toBe('body.projectId');
    expect((await api.call(tenant.accessToken, 'GET', `/v1/tasks/${task.id}`)).json()).toMatchObject({ projectId: target.id, title: task.title });
  });

  it('refuses an assignee who is not a member and leaves the task unchanged', async () => {
    const stranger = await signUp(testApp.app);
    const task = await api.createTask(tenant.accessToken, projectId);
    const response = await api.call(tenant.accessToken, 'PATCH', `/v1/tasks/${task.id}`, { assigneeId: stranger.userId, title: 'changed' });
    expect(fieldOf(expectProblem(response, 400, 'validation-failed'))).toBe('body.assigneeId');
    expect((await api.call(tenant.accessToken, 'GET', `/v1/tasks/${task.id}`)).json()).toEqual(task);
  });

  it('returns 400 for an empty change or a bad value, and 404 for an unknown id', async () => {
    const task = await api.createTask(tenant.accessToken, projectId);
    expectProblem(await api.call(tenant.accessToken, 'PATCH', `/v1/tasks/${task.id}`, {}), 400, 'validation-failed');
    expectProblem(await api.call(tenant.accessToken, 'PATCH', `/v1/tasks/${task.id}`, { status: 'later' }), 400, 'validation-failed');
    expectProblem(await api.call(tenant.accessToken, 'PATCH', `/v1/tasks/${task.id}`, { projectId: null }), 400, 'validation-failed');
    expectProblem(await api.call(tenant.accessToken, 'PATCH', `/v1/tasks/${UNKNOWN_ID}`, { title: 'x' }), 404, 'not-found');
    expectProblem(await api.call(tenant.accessToken, 'PATCH', `/v1/tasks/${UNKNOWN_ID}`, { projectId }), 404, 'not-found');
  });
});

describe('deleting a task', () => {
  it('stamps deleted_at and hides the task from every read, list and change', async () => {
    const task = await api.createTask(tenant.accessToken, projectId, { title: 'soon deleted' });
    expect((await api.call(tenant.accessToken, 'DELETE', `/v1/tasks/${task.id}`)).statusCode).toBe(204);
    expectProblem(await api.call(tenant.accessToken, 'GET', `/v1/tasks/${task.id}`), 404, 'not-found');
    expectProblem(await api.call(tenant.accessToken, 'PATCH', `/v1/tasks/${task.id}`, { title: 'revived' }), 404, 'not-found');
    expectProblem(await api.call(tenant.accessToken, 'DELETE', `/v1/tasks/${task.id}`), 404, 'not-found');
    const listed = (await api.call(tenant.accessToken, 'GET', `/v1/tasks?projectId=${projectId}&q=soon&limit=100`)).json();
    expect(listed.data).toEqual([]);
    const { rows } = await testApp.database.admin.query('SELECT title, deleted_at FROM tasks WHERE id = $1', [task.id]);
    expect(rows[0]).toMatchObject({ title: 'soon deleted', deleted_at: expect.any(Date) });
  });
});

describe('roles', () => {
  it('lets a viewer read and list but not create, change or delete', async () => {
    const viewer = await api.keyWithRole(tenant, 'viewer');
    const task = await api.createTask(tenant.accessToken, projectId);
    expect((await api.call(viewer, 'GET', `/v1/tasks/${task.id}`)).statusCode).toBe(200);
    expect((await api.call(viewer, 'GET', '/v1/tasks')).statusCode).toBe(200);
    expectProblem(await api.call(viewer, 'POST', '/v1/tasks', { projectId, title: 'no' }), 403, 'forbidden');
    expectProblem(await api.call(viewer, 'PATCH', `/v1/tasks/${task.id}`, { title: 'no' }), 403, 'forbidden');
    expectProblem(await api.call(viewer, 'DELETE', `/v1/tasks/${task.id}`), 403, 'forbidden');
    expect((await api.call(tenant.accessToken, 'GET', `/v1/tasks/${task.id}`)).json()).toEqual(task);
  });

  it('lets a member create, change and delete tasks', async () => {
    const member = await api.keyWithRole(tenant, 'member');
    const task = await api.createTask(member, projectId);
    expect((await api.call(member, 'PATCH', `/v1/tasks/${task.id}`, { status: 'done' })).statusCode).toBe(200);
    expect((await api.call(member, 'DELETE', `/v1/tasks/${task.id}`)).statusCode).toBe(204);
  });
});
