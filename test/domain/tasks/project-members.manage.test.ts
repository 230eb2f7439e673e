// /v1/projects/:id/members: add members of the tenant, list them, take them off; a user who
// is not (or no longer) a member of the tenant is a 400 from the foreign key, never a 500.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, signUp, type SignedUpTenant } from '../../support/fixtures.js';
import { startTestApp, type TestApp } from '../../support/test-app.js';
import { taskApi, type TaskApi } from './task-api.js';

const UNKNOWN_ID = '01a2081f-9f83-7779-921b-000000000000';

let testApp: TestApp;
let api: TaskApi;
let tenant: SignedUpTenant;

beforeAll(async () => {
  testApp = await startTestApp();
  api = taskApi(testApp);
  tenant = await signUp(testApp.app);
  // Many members join this tenant below: past the free plan's seats (3).
  await testApp.database.admin.query("UPDATE tenants SET plan = 'promax' WHERE id = $1", [tenant.tenantId]);
});

afterAll(async () => {
  await testApp.close();
});

const members = (projectId: string) => `/v1/projects/${projectId}/members`;

describe('adding a project member', () => {
  it('adds a member of the tenant and lists them with their tenant role', async () => {
    const project = await api.createProject(tenant.accessToken);
    const userId = await api.addTenantMember(tenant, 'viewer');
    const response = await api.call(tenant.accessToken, 'POST', members(project.id), { userId });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toEqual({ userId, email: expect.any(String), name: 'Invitee', role: 'viewer', addedAt: expect.any(String) });
    const list = await api.call(tenant.accessToken, 'GET', members(project.id));
    expect(list.json()).toEqual({ data: [response.json()], nextCursor: null });
  });

  it('returns 409 when the user is already on the project', async () => {
    const project = await api.createProject(tenant.accessToken);
    await api.call(tenant.accessToken, 'POST', members(project.id), { userId: tenant.userId });
    expectProblem(await api.call(tenant.accessToken, 'POST', members(project.id), { userId: tenant.userId }), 409, 'conflict');
  });

  it('returns 400 for a user who is not a member of this tenant, and writes nothing', async () => {
    const project = await api.createProject(tenant.accessToken);
    const stranger = await signUp(testApp.app);
    for (const userId of [stranger.userId, UNKNOWN_ID]) {
      const body = expectProblem(await api.call(tenant.accessToken, 'POST', members(project.id), { userId }), 400, 'validation-failed');
      expect(body.errors).toEqual([{ field: 'body.userId', message: 'is not a member of this tenant' }]);
    }
    const { rows } = await testApp.database.admin.query('SELECT count(*)::int AS n FROM project_members WHERE project_id = $1', [project.id]);
    expect(rows[0].n).toBe(0);
  });

  it('returns 400 for a user removed from the tenant, and drops them from project lists', async () => {
    const project = await api.createProject(tenant.accessToken);
    const [stays, leaves] = [await api.addTenantMember(tenant), await api.addTenantMember(tenant)];
    await api.call(tenant.accessToken, 'POST', members(project.id), { userId: stays });
    await api.call(tenant.accessToken, 'POST', members(project.id), { userId: leaves });
    expect((await api.call(tenant.accessToken, 'DELETE', `/v1/members/${leaves}`)).statusCode).toBe(204);
    const list = (await api.call(tenant.accessToken, 'GET', members(project.id))).json();
    expect(list.data.map((m: { userId: string }) => m.userId)).toEqual([stays]);

    const other = await api.createProject(tenant.accessToken);
    expectProblem(await api.call(tenant.accessToken, 'POST', members(other.id), { userId: leaves }), 400, 'validation-failed');
  });

  it('returns 404 for an unknown or deleted project', async () => {
    expectProblem(await api.call(tenant.accessToken, 'POST', members(UNKNOWN_ID), { userId: tenant.userId }), 404, 'not-found');
    const project = await api.createProject(tenant.accessToken);
    await api.call(tenant.accessToken, 'DELETE', `/v1/projects/${project.id}`);
    expectProblem(await api.call(tenant.accessToken, 'POST', members(project.id), { userId: tenant.userId }), 404, 'not-found');
    expectProblem(await api.call(tenant.accessToken, 'GET', members(project.id)), 404, 'not-found');
  });

  it('returns 400 for a body without a UUID userId', async () => {
    const project = await api.createProject(tenant.accessToken);
    expectProblem(await api.call(tenant.accessToken, 'POST', members(project.id), {}), 400, 'validation-failed');
    expectProblem(await api.call(tenant.accessToken, 'POST', members(project.id), { userId: 'me' }), 400, 'validation-failed');
  });
});

describe('removing a project member', () => {
  it('takes them off the project (soft delete) and lets them be added again', async () => {
    const project = await api.createProject(tenant.accessToken);
    const userId = await api.addTenantMember(tenant);
    await api.call(tenant.accessToken, 'POST', members(project.id), { userId });
    expect((await api.call(tenant.accessToken, 'DELETE', `${members(project.id)}/${userId}`)).statusCode).toBe(204);
    expect((await api.call(tenant.accessToken, 'GET', members(project.id))).json()).toEqual({ data: [], nextCursor: null });
    expectProblem(await api.call(tenant.accessToken, 'DELETE', `${members(project.id)}/${userId}`), 404, 'not-found');
    const { rows } = await testApp.database.admin.query('SELECT deleted_at FROM project_members WHERE project_id = $1', [project.id]);
    expect(rows).toEqual([{ deleted_at: expect.any(Date) }]);

    expect((await api.call(tenant.accessToken, 'POST', members(project.id), { userId })).statusCode).toBe(201);
    expect((await api.call(tenant.accessToken, 'GET', members(project.id))).json().data).toHaveLength(1);
  });

  it('keeps them a member of the tenant', async () => {
    const project = await api.createProject(tenant.accessToken);
    const userId = await api.addTenantMember(tenant);
    await api.call(tenant.accessToken, 'POST', members(project.id), { userId });
    await api.call(tenant.accessToken, 'DELETE', `${members(project.id)}/${userId}`);
    const tenantMembers = (await api.call(tenant.accessToken, 'GET', '/v1/members')).json().data;
    expect(tenantMembers.map((m: { userId: string }) => m.userId)).toContain(userId);
  });
});

describe('roles', () => {
  it('lets a viewer list but not add or remove; a member may do both', async () => {
    const viewer = await api.keyWithRole(tenant, 'viewer');
    const member = await api.keyWithRole(tenant, 'member');
    const project = await api.createProject(tenant.accessToken);
    expect((await api.call(viewer, 'GET', members(project.id))).statusCode).toBe(200);
    expectProblem(await api.call(viewer, 'POST', members(project.id), { userId: tenant.userId }), 403, 'forbidden');
    expect((await api.call(member, 'POST', members(project.id), { userId: tenant.userId })).statusCode).toBe(201);
    expectProblem(await api.call(viewer, 'DELETE', `${members(project.id)}/${tenant.userId}`), 403, 'forbidden');
    expect((await api.call(member, 'DELETE', `${members(project.id)}/${tenant.userId}`)).statusCode).toBe(204);
  });
});
