// A test app whose job worker and outbox relay run, so published events are delivered as in
// production, with retries fast enough for a test and a local receiver explicitly allowed.

import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { bearer } from '../../support/fixtures.js';
import { startTestApp, type TestApp } from '../../support/test-app.js';

export const LOCAL_RECEIVER_ENV = {
  TENANTRY_WEBHOOK_ALLOW_HTTP: 'true',
  TENANTRY_WEBHOOK_ALLOWED_ADDRESSES: '127.0.0.1',
};

export const FAST_RETRIES_ENV = {
  TENANTRY_WEBHOOK_RETRY_BASE_MS: '100',
  TENANTRY_WEBHOOK_RETRY_MAX_MS: '400',
};

export async function startWebhookApp(env: Record<string, string> = {}): Promise<TestApp> {
  const testApp = await startTestApp({ TENANTRY_WEBHOOK_SECRET_KEY: randomBytes(32).toString('base64'), ...env });
  await testApp.services.jobs.start({ concurrency: 2, pollIntervalMs: 100 });
  testApp.services.outbox.start();
  const close = testApp.close.bind(testApp);
  return Object.assign(testApp, {
    async close() {
      await testApp.services.outbox.stop();
      await testApp.services.jobs.stop();
      await close();
    },
  });
}

export function call(testApp: TestApp, token: string, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object): Promise<LightMyRequestResponse> {
  return testApp.app.inject({ method, url, headers: bearer(token), ...(payload ? { payload } : {}) });
}

export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
