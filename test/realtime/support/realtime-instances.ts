// Two app instances on one test database, both listening on real ports, each running its own
// outbox relay, as two servers behind a load balancer would.

import type { Services } from '../../../src/services.js';
import { startInstance, type Instance } from '../../cache/second-instance.js';
import { startTestApp, type TestApp } from '../../support/test-app.js';

export interface RealtimeInstances {
  readonly a: TestApp;
  readonly b: Instance;
  readonly urlA: string;
  readonly urlB: string;
  close(): Promise<void>;
}

export const TEST_ORIGIN = 'https://app.example.test';

export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function listening(services: Services): Promise<void> {
  await waitUntil(() => services.realtime.hub.listening, 30_000);
}

export async function startRealtimeInstances(env: Record<string, string> = {}): Promise<RealtimeInstances> {
  const shared = { TENANTRY_REALTIME_ORIGINS: TEST_ORIGIN, ...env };
  const a = await startTestApp(shared);
  const b = await startInstance(a.database, shared);
  const urlA = await a.app.listen({ port: 0, host: '127.0.0.1' });
  const urlB = await b.app.listen({ port: 0, host: '127.0.0.1' });
  await listening(a.services);
  await listening(b.services);
  a.services.outbox.start();
  b.services.outbox.start();
  return {
    a,
    b,
    urlA,
    urlB,
    async close() {
      await Promise.all([a.services.outbox.stop(), b.services.outbox.stop()]);
      await b.close();
      await a.close();
    },
  };
}
