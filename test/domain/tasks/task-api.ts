// Client-side helpers for the task domain tests: create projects, tasks and extra
// credentials over HTTP, as a client of the public API would.

import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { addNewMember, bearer, type SignedUpTenant } from '../../support/fixtures.js';
import type { TestApp } from '../../support/test-app.js';

type Role = 'owner' | 'admin' | 'member' | 'viewer';
type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface TaskApi {
  call(credential: string, method: Method, url: string, payload?: unknown): Promise<LightMyRequestResponse>;
  /** An API key of the tenant with exactly this role. */
  keyWithRole(tenant: SignedUpTenant, role: Exclude<Role, 'owner'>): Promise<string>;
  /** A new member of the tenant (invited, accepted as a new account); returns their user id. */
  addTenantMember(tenant: SignedUpTenant, role?: Role): Promise<string>;
  createProject(credential: string, name?: string): Promise<Record<string, any>>;
  createTask(credential: string, projectId: string, fields?: Record<string, unknown>): Promise<Record<string, any>>;
}

let counter = 0;

export function taskApi(testApp: TestApp): TaskApi {
  const call: TaskApi['call'] = (credential, method, url, payload) =>
    testApp.app.inject({ method, url, headers: bearer(credential), ...(payload === undefined ? {} : { payload: payload as object }) });

  return {
    call,
    async keyWithRole(tenant, role) {
      const response = await call(tenant.accessToken, 'POST', '/v1/api-keys', { name: `${role} key`, role });
      expect(response.statusCode, response.body).toBe(201);
      return response.json().key;
    },
    async addTenantMember(tenant, role = 'member') {
      counter += 1;
      const email = `person-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 7)}@example.test`;
      return (await addNewMember(testApp.app, tenant.accessToken, role, { email })).userId;
    },
    async createProject(credential, name) {
      counter += 1;
      const response = await call(credential, 'POST', '/v1/projects', { name: name ?? `Project ${counter}` });
      expect(response.statusCode, response.body).toBe(201);
      return response.json();
    },
    async createTask(credential, projectId, fields = {}) {
      counter += 1;
      const response = await call(credential, 'POST', '/v1/tasks', { projectId, title: `Task ${counter}`, ...fields });
      expect(response.statusCode, response.body).toBe(201);
      return response.json();
    },
  };
}
