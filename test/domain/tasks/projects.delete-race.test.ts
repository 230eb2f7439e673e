// Deleting a project while tasks are being created in it and moved into it: every request
// gets a clean answer (no 500, no deadlock), and no live task is left in a deleted project.

import { afterAll, beforeAll, expect, it } from 'vitest';
import { signUp } from '../../support/fixtures.js';
import { startTestApp, type TestApp } from '../../support/test-app.js';
import { taskApi } from './task-api.js';

let testApp: TestApp;

beforeAll(async () => {
  testApp = await startTestApp();
});

afterAll(async () => {
  await testApp.close();
});

it('leaves no live task in a project deleted during concurrent creates and moves', async () => {
  const api = taskApi(testApp);
  const tenant = await signUp(testApp.app);
  for (let round = 0; round < 5; round++) {
    const doomed = (await api.createProject(tenant.accessToken)).id;
    const elsewhere = (await api.createProject(tenant.accessToken)).id;
    const inside = await Promise.all(Array.from({ length: 4 }, () => api.createTask(tenant.apiKey, doomed)));
    const outside = await Promise.all(Array.from({ length: 4 }, () => api.createTask(tenant.apiKey, elsewhere)));

    const requests = [
      ...Array.from({ length: 6 }, () => api.call(tenant.apiKey, 'POST', '/v1/tasks', { projectId: doomed, title: 'racing' })),
      // Tasks already in the project, "moved" into it again: the lock order that could deadlock.
      ...inside.map((task) => api.call(tenant.apiKey, 'PATCH', `/v1/tasks/${task.id}`, { projectId: doomed, title: 'kept' })),
      ...outside.map((task) => api.call(tenant.apiKey, 'PATCH', `/v1/tasks/${task.id}`, { projectId: doomed })),
      api.call(tenant.accessToken, 'DELETE', `/v1/projects/${doomed}`),
    ];
    const responses = await Promise.all(requests);
    for (const response of responses) expect([200, 201, 204, 400, 404], response.body).toContain(response.statusCode);
    expect(responses.at(-1)!.statusCode).toBe(204);

    const { rows } = await testApp.database.admin.query(
      'SELECT count(*)::int AS n FROM tasks WHERE project_id = $1 AND deleted_at IS NULL',
      [doomed],
    );
    expect(rows[0].n).toBe(0);
  }
});
