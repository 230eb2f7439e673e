// Access is re-read for every open socket: a removed member, a revoked key and a suspended
// tenant lose their sockets on every instance within about a second, whichever instance the
// change went through; an expiring token must be replaced in time; dead sockets are dropped.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addNewMember, bearer, signUp } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { connect, type RealtimeClient } from './support/realtime-client.js';
import { listening, startRealtimeInstances, type RealtimeInstances } from './support/realtime-instances.js';

/** Verification runs every second; the rest is a busy machine's margin. */
const WITHIN_MS = 2_500;

async function ready(client: RealtimeClient): Promise<void> {
  await client.waitFor((message) => message.type === 'synced');
}

async function closedWithin(client: RealtimeClient, since: number): Promise<{ code: number; elapsed: number }> {
  const { code } = await client.closed(WITHIN_MS + 2_000);
  return { code, elapsed: performance.now() - since };
}

describe('access changes on open sockets, across instances', () => {
  let instances: RealtimeInstances;

  beforeAll(async () => {
    instances = await startRealtimeInstances();
  });

  afterAll(async () => {
    await instances.close();
  });

  it('disconnects a removed member (4403) and leaves the rest of the room connected', async () => {
    const tenant = await signUp(instances.a.app);
    const member = await addNewMember(instances.a.app, tenant.accessToken, 'member');
    const memberSocket = await connect(instances.urlB, { token: member.accessToken });
    const ownerSocket = await connect(instances.urlB, { token: tenant.accessToken });
    await Promise.all([ready(memberSocket), ready(ownerSocket)]);

    const removed = await instances.a.app.inject({ method: 'DELETE', url: `/v1/members/${member.userId}`, headers: bearer(tenant.accessToken) });
    expect(removed.statusCode).toBe(204);
    const { code, elapsed } = await closedWithin(memberSocket, performance.now());
    expect(code).toBe(4403);
    expect(elapsed).toBeLessThan(WITHIN_MS);
    expect(ownerSocket.socket.readyState).toBe(ownerSocket.socket.OPEN);
    await ownerSocket.close();
  });

  it('disconnects the sockets of a revoked API key (4403)', async () => {
    const tenant = await signUp(instances.a.app);
    const created = await instances.a.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(tenant.accessToken), payload: { name: 'sync', role: 'member' } });
    const key = created.json();
    const onA = await connect(instances.urlA, { token: key.key });
    const onB = await connect(instances.urlB, { token: key.key });
    await Promise.all([ready(onA), ready(onB)]);

    const revokedAt = performance.now();
    const revoked = await instances.b.app.inject({ method: 'DELETE', url: `/v1/api-keys/${key.id}`, headers: bearer(tenant.accessToken) });
    expect(revoked.statusCode).toBe(204);
    for (const client of [onA, onB]) {
      const { code, elapsed } = await closedWithin(client, revokedAt);
      expect(code).toBe(4403);
      expect(elapsed).toBeLessThan(WITHIN_MS);
    }
  });

  it("disconnects a suspended tenant's sockets (4423), and only that tenant's", async () => {
    const tenant = await signUp(instances.a.app);
    const bystander = await signUp(instances.a.app);
    const user = await connect(instances.urlA, { token: tenant.accessToken });
    const key = await connect(instances.urlB, { token: tenant.apiKey });
    const unaffected = await connect(instances.urlB, { token: bystander.accessToken });
    await Promise.all([ready(user), ready(key), ready(unaffected)]);

    const suspendedAt = performance.now();
    await instances.a.database.admin.query(`UPDATE tenants SET status = 'suspended' WHERE id = $1`, [tenant.tenantId]);
    for (const client of [user, key]) {
      const { code, elapsed } = await closedWithin(client, suspendedAt);
      expect(code).toBe(4423);
      expect(elapsed).toBeLessThan(WITHIN_MS);
    }
    expect(unaffected.socket.readyState).toBe(unaffected.socket.OPEN);
    // A suspended tenant cannot open a new one either.
    await expect(connect(instances.urlA, { token: tenant.apiKey })).rejects.toMatchObject({ status: 403 });
    await unaffected.close();
  });
});

describe('token expiry, re-authentication and heartbeats', () => {
  let testApp: TestApp;
  let url: string;

  beforeAll(async () => {
    testApp = await startTestApp({ TENANTRY_ACCESS_TOKEN_TTL: '30', TENANTRY_REALTIME_HEARTBEAT_MS: '300' });
    url = await testApp.app.listen({ port: 0, host: '127.0.0.1' });
    await listening(testApp.services);
  });

  afterAll(async () => {
    await testApp.close();
  });

  async function refreshed(refreshToken: string): Promise<{ accessToken: string; refreshToken: string }> {
    const response = await testApp.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken } });
    expect(response.statusCode, response.body).toBe(200);
    return response.json();
  }

  it('closes a socket whose token expires without a fresh one (4408)', async () => {
    const tenant = await signUp(testApp.app);
    // The token has 30 s to live; move the server's clock to 2 s before its end.
    testApp.clock.advance(28);
    const client = await connect(url, { token: tenant.accessToken });
    await ready(client);
    expect((await client.closed(6_000)).code).toBe(4408);
  });

  it('keeps a socket that re-authenticates with a fresh token before expiry', async () => {
    const tenant = await signUp(testApp.app);
    const client = await connect(url, { token: tenant.accessToken });
    const first = await client.waitFor((message) => message.type === 'ready');
    testApp.clock.advance(28);
    const fresh = await refreshed(tenant.refreshToken);
    client.send({ type: 'reauthenticate', token: fresh.accessToken });
    const answer = await client.waitFor((message) => message.type === 'reauthenticated');
    expect(Date.parse(answer.expiresAt as string)).toBeGreaterThan(Date.parse(first.expiresAt as string));
    // Past the first token's end, still open.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(client.socket.readyState).toBe(client.socket.OPEN);
    await client.close();
  });

  it("closes a socket re-authenticating as someone else (4409)", async () => {
    const tenant = await signUp(testApp.app);
    const stranger = await signUp(testApp.app);
    const client = await connect(url, { token: tenant.accessToken });
    await ready(client);
    client.send({ type: 'reauthenticate', token: stranger.accessToken });
    expect((await client.closed()).code).toBe(4409);
  });

  it('drops a socket that stops answering pings', async () => {
    const tenant = await signUp(testApp.app);
    const client = await connect(url, { token: tenant.apiKey });
    await ready(client);
    // ws answers pings by itself; this client plays dead.
    (client.socket as unknown as { pong: () => void }).pong = () => {};
    const { code } = await client.closed(5_000);
    expect(code).toBe(1006);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(testApp.services.realtime.hub.connectionCount).toBe(0);
  });

  it('closes a socket that sends messages faster than the limit (4429)', async () => {
    const tenant = await signUp(testApp.app);
    const client = await connect(url, { token: tenant.apiKey });
    await ready(client);
    for (let index = 0; index < 50; index += 1) client.send({ type: 'subscribe', channels: ['tasks'] });
    expect((await client.closed()).code).toBe(4429);
  });
});
