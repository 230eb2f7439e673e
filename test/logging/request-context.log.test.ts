// Every log line of a tenant request names its tenant and user, "request completed" included,
// and never another request's: the bindings are the request's own logger's.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, signUp } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let testApp: TestApp;

beforeAll(async () => {
  testApp = await startTestApp({ LOG_LEVEL: 'info' });
});

afterAll(async () => {
  await testApp.close();
});

interface LogLine {
  msg: string;
  request_id?: string;
  tenant_id?: string;
  user_id?: string;
}

describe('the log of a tenant request', () => {
  it('binds the tenant and user to its lines, each request its own', async () => {
    const [a, b] = [await signUp(testApp.app), await signUp(testApp.app)];
    const before = testApp.logs().length;
    const responses = await Promise.all(
      [a, b, a].map((tenant) => testApp.app.inject({ method: 'GET', url: '/v1/members', headers: bearer(tenant.accessToken) })),
    );
    const lines = testApp
      .logs()
      .slice(before)
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as LogLine);
    const completed = lines.filter((line) => line.msg === 'request completed');
    expect(completed).toHaveLength(3);
    const byRequest = new Map(completed.map((line) => [line.request_id, line]));
    [a, b, a].forEach((tenant, index) => {
      const line = byRequest.get(responses[index]!.headers['x-request-id'] as string);
      expect(line).toMatchObject({ tenant_id: tenant.tenantId, user_id: tenant.userId });
    });
  });
});
