// /v1/projects: create, read, list, rename and delete; names unique per tenant among live
// projects; viewers read only, members write, admins delete; responses never carry tenant_id.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, signUp, type SignedUpTenant } from '../../support/fixtures.js';
import { startTestApp, type TestApp } from '../../support/test-app.js';
import { taskApi, type TaskApi } from './task-api.js';

let testApp: TestApp;
let api: TaskApi;
let tenant: SignedUpTenant;

beforeAll(async () => {
  testApp = await startTestApp();
  api = taskApi(testApp);
  tenant = await signUp(testApp.app);
});

afterAll(async () => {
  await testApp.close();
});

describe('creating a project', () => {
  it('returns 201 with the project in camelCase, without tenant_id', async () => {
    const response = await api.call(tenant.accessToken, 'POST', '/v1/projects', { name: 'Launch', description: 'Q3 launch' });
    expect(response.statusCode).toBe(201);
    const body = response.json();
    expect(body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'Launch',
      description: 'Q3 launch',
      createdBy: tenant.userId,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(response.body).not.toMatch(/tenant/i);
  });

  it('records no creator user when an API key creates it', async () => {
    const project = await api.createProject(tenant.apiKey);
    expect(project.createdBy).toBeNull();
  });

  it('returns 409 when the name is taken in the tenant, whatever its case', async () => {
    await api.createProject(tenant.accessToken, 'Roadmap');
    const body = expectProblem(await api.call(tenant.accessToken, 'POST', '/v1/projects', { name: 'ROADMAP' }), 409, 'conflict');
    expect(body.field).toBe('name');
  });

  it('lets another tenant use the same name', async () => {
    await api.createProject(tenant.accessToken, 'Shared name');
    const other = await signUp(testApp.app);
    await api.createProject(other.accessToken, 'Shared name');
  });

  it('frees the name of a deleted project', async () => {
    const project = await api.createProject(tenant.accessToken, 'Reusable');
    expect((await api.call(tenant.accessToken, 'DELETE', `/v1/projects/${project.id}`)).statusCode).toBe(204);
    await api.createProject(tenant.accessToken, 'Reusable');
  });

  it('lets exactly one of ten concurrent creates with the same name win', async () => {
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => api.call(tenant.accessToken, 'POST', '/v1/projects', { name: 'Race' })),
    );
    expect(responses.map((r) => r.statusCode).sort()).toEqual([201, ...Array(9).fill(409)]);
  });

  it.each([
    [{}, 'body.name'],
    [{ name: '' }, 'body.name'],
    [{ name: '   ' }, 'body.name'],
    [{ name: 'x'.repeat(201) }, 'body.name'],
    [{ name: 'ok', description: 'x'.repeat(10_001) }, 'body.description'],
    [{ name: 'ok', tenantId: '01a2081f-9f83-7779-921b-8741fe9eb624' }, 'body.tenantId'],
    [{ name: 42 }, 'body.name'],
  ])('returns 400 for %j', async (payload, field) => {
    const body = expectProblem(await api.call(tenant.accessToken, 'POST', '/v1/projects', payload), 400, 'validation-failed');
    expect((body.errors as { field: string }[])[0]!.field).toBe(field);
  });
});

describe('reading projects', () => {
  it('returns one project by id and 404 for an unknown id', async () => {
    const project = await api.createProject(tenant.accessToken);
    const response = await api.call(tenant.accessToken, 'GET', `/v1/projects/${project.id}`);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual(project);
    expectProblem(await api.call(tenant.accessToken, 'GET', '/v1/projects/01a2081f-9f83-7779-921b-000000000000'), 404, 'not-found');
  });

  it('returns 400 for an id that is not a UUID', async () => {
    expectProblem(await api.call(tenant.accessToken, 'GET', '/v1/projects/42'), 400, 'validation-failed');
  });

  it('lists the tenant’s live projects newest first, a page at a time', async () => {
    const own = await signUp(testApp.app);
    const created = [];
    for (let i = 0; i < 5; i++) created.push(await api.createProject(own.accessToken));
    await api.call(own.accessToken, 'DELETE', `/v1/projects/${created[2]!.id}`);
    const first = (await api.call(own.accessToken, 'GET', '/v1/projects?limit=3')).json();
    expect(first.data.map((p: { id: string }) => p.id)).toEqual([created[4]!.id, created[3]!.id, created[1]!.id]);
    const second = (await api.call(own.accessToken, 'GET', `/v1/projects?limit=3&cursor=${first.nextCursor}`)).json();
    expect(second).toEqual({ data: [created[0]], nextCursor: null });
    const ascending = (await api.call(own.accessToken, 'GET', '/v1/projects?sort=asc')).json();
    expect(ascending.data.map((p: { id: string }) => p.id)).toEqual([created[0]!.id, created[1]!.id, created[3]!.id, created[4]!.id]);
  });
});

describe('changing a project', () => {
  it('renames it and moves updatedAt', async () => {
    const project = await api.createProject(tenant.accessToken);
    testApp.clock.advance(60);
    const response = await api.call(tenant.accessToken, 'PATCH', `/v1/projects/${project.id}`, { name: 'Renamed', description: 'new' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ id: project.id, name: 'Renamed', description: 'new', createdAt: project.createdAt });
    expect(response.json().updatedAt > project.updatedAt).toBe(true);
  });

  it('returns 409 when renamed to a taken name, and leaves the name as it was', async () => {
    await api.createProject(tenant.accessToken, 'Taken');
    const project = await api.createProject(tenant.accessToken, 'Free');
    expectProblem(await api.call(tenant.accessToken, 'PATCH', `/v1/projects/${project.id}`, { name: 'taken' }), 409, 'conflict');
    expect((await api.call(tenant.accessToken, 'GET', `/v1/projects/${project.id}`)).json().name).toBe('Free');
  });

  it('returns 400 for an empty or unknown change', async () => {
    const project = await api.createProject(tenant.accessToken);
    expectProblem(await api.call(tenant.accessToken, 'PATCH', `/v1/projects/${project.id}`, {}), 400, 'validation-failed');
    expectProblem(await api.call(tenant.accessToken, 'PATCH', `/v1/projects/${project.id}`, { owner: 'x' }), 400, 'validation-failed');
  });

  it('returns 404 for an unknown id', async () => {
    const response = await api.call(tenant.accessToken, 'PATCH', '/v1/projects/01a2081f-9f83-7779-921b-000000000000', { name: 'x' });
    expectProblem(response, 404, 'not-found');
  });
});

describe('deleting a project', () => {
  it('hides it from every read, list and change, and keeps the row with deleted_at', async () => {
    const project = await api.createProject(tenant.accessToken);
    expect((await api.call(tenant.accessToken, 'DELETE', `/v1/projects/${project.id}`)).statusCode).toBe(204);
    expectProblem(await api.call(tenant.accessToken, 'GET', `/v1/projects/${project.id}`), 404, 'not-found');
    expectProblem(await api.call(tenant.accessToken, 'PATCH', `/v1/projects/${project.id}`, { name: 'back' }), 404, 'not-found');
    expectProblem(await api.call(tenant.accessToken, 'DELETE', `/v1/projects/${project.id}`), 404, 'not-found');
    const list = (await api.call(tenant.accessToken, 'GET', '/v1/projects?limit=100')).json();
    expect(list.data.map((p: { id: string }) => p.id)).not.toContain(project.id);
    const { rows } = await testApp.database.admin.query('SELECT deleted_at FROM projects WHERE id = $1', [project.id]);
    expect(rows[0].deleted_at).toBeInstanceOf(Date);
  });

  it('soft-deletes its live tasks and member list in the same transaction', async () => {
    const project = await api.createProject(tenant.accessToken);
    const userId = await api.addTenantMember(tenant);
    await api.call(tenant.accessToken, 'POST', `/v1/projects/${project.id}/members`, { userId });
    const tasks = [await api.createTask(tenant.accessToken, project.id), await api.createTask(tenant.accessToken, project.id)];
    const otherProject = await api.createProject(tenant.accessToken);
    const unrelated = await api.createTask(tenant.accessToken, otherProject.id);

    expect((await api.call(tenant.accessToken, 'DELETE', `/v1/projects/${project.id}`)).statusCode).toBe(204);
    for (const task of tasks) expectProblem(await api.call(tenant.accessToken, 'GET', `/v1/tasks/${task.id}`), 404, 'not-found');
    expect((await api.call(tenant.accessToken, 'GET', `/v1/tasks/${unrelated.id}`)).statusCode).toBe(200);
    const { rows } = await testApp.database.admin.query(
      `SELECT (SELECT count(*)::int FROM tasks WHERE project_id = $1 AND deleted_at IS NULL) AS live_tasks,
              (SELECT count(*)::int FROM project_members WHERE project_id = $1 AND deleted_at IS NULL) AS live_members,
              (SELECT count(*)::int FROM tasks WHERE project_id = $1) AS all_tasks`,
      [project.id],
    );
    expect(rows[0]).toEqual({ live_tasks: 0, live_members: 0, all_tasks: 2 });
  });
});

describe('roles', () => {
  it('lets a viewer read but not create, change or delete', async () => {
    const viewer = await api.keyWithRole(tenant, 'viewer');
    const project = await api.createProject(tenant.accessToken);
    expect((await api.call(viewer, 'GET', `/v1/projects/${project.id}`)).statusCode).toBe(200);
    expect((await api.call(viewer, 'GET', '/v1/projects')).statusCode).toBe(200);
    expectProblem(await api.call(viewer, 'POST', '/v1/projects', { name: 'No' }), 403, 'forbidden');
    expectProblem(await api.call(viewer, 'PATCH', `/v1/projects/${project.id}`, { name: 'No' }), 403, 'forbidden');
    expectProblem(await api.call(viewer, 'DELETE', `/v1/projects/${project.id}`), 403, 'forbidden');
    expect((await api.call(tenant.accessToken, 'GET', `/v1/projects/${project.id}`)).json()).toEqual(project);
  });

  it('lets a member create and change but leaves deleting to admins', async () => {
    const member = await api.keyWithRole(tenant, 'member');
    const admin = await api.keyWithRole(tenant, 'admin');
    const project = await api.createProject(member);
    expect((await api.call(member, 'PATCH', `/v1/projects/${project.id}`, { description: 'edited' })).statusCode).toBe(200);
    const refused = expectProblem(await api.call(member, 'DELETE', `/v1/projects/${project.id}`), 403, 'forbidden');
    expect(refused.required_role).toBe('admin');
    expect((await api.call(admin, 'DELETE', `/v1/projects/${project.id}`)).statusCode).toBe(204);
  });

  it('returns 401 without credentials', async () => {
    const response = await testApp.app.inject({ method: 'GET', url: '/v1/projects' });
    expectProblem(response, 401, 'unauthenticated');
  });
});
