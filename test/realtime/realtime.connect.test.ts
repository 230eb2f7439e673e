// Opening GET /v1/realtime: who may, from where, and which room and channels they get. The room
// is always the credential's tenant; refusals happen before the socket opens when the upgrade
// carries the credential, and close the socket with a documented code when the first message does.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineModule } from '../../src/modules/module.js';
import { bearer, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { TEST_MODULES } from '../support/modules.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { connect } from './support/realtime-client.js';
import { listening, TEST_ORIGIN } from './support/realtime-instances.js';

/** A channel only admins may read, declared the way any module declares one. */
const ledgerModule = defineModule({ name: 'ledger_test', realtimeChannels: [{ name: 'ledger', minRole: 'admin' }] });

let testApp: TestApp;
let url: string;
let tenant: SignedUpTenant;
let other: SignedUpTenant;
let viewerKey: string;

beforeAll(async () => {
  testApp = await startTestApp({ TENANTRY_REALTIME_ORIGINS: TEST_ORIGIN }, { modules: [...TEST_MODULES, ledgerModule] });
  url = await testApp.app.listen({ port: 0, host: '127.0.0.1' });
  await listening(testApp.services);
  tenant = await signUp(testApp.app);
  other = await signUp(testApp.app);
  const key = await testApp.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(tenant.accessToken), payload: { name: 'viewer', role: 'viewer' } });
  expect(key.statusCode).toBe(201);
  viewerKey = key.json().key;
});

afterAll(async () => {
  await testApp.close();
});

async function refusal(promise: Promise<unknown>): Promise<{ status: number; body: Record<string, unknown> }> {
  const error = (await promise.then(
    () => {
      throw new Error('the upgrade was accepted');
    },
    (caught: unknown) => caught,
  )) as { status: number; body: string };
  return { status: error.status, body: JSON.parse(error.body) };
}

describe('GET /v1/realtime', () => {
  it('refuses an upgrade from an origin not on the allow-list with 403, before the socket opens', async () => {
    const refused = await refusal(connect(url, { token: tenant.accessToken, origin: 'https://evil.example' }));
    expect(refused.status).toBe(403);
    expect(refused.body.type).toBe('https://tenantry.dev/problems/forbidden');
    expect(testApp.services.realtime.hub.connectionCount).toBe(0);
  });

  it('accepts the allowed origin, and clients that send no Origin (not browsers)', async () => {
    const browser = await connect(url, { token: tenant.accessToken, origin: TEST_ORIGIN });
    const server = await connect(url, { token: tenant.apiKey });
    const ready = await browser.waitFor((message) => message.type === 'ready');
    expect(ready).toMatchObject({ tenantId: tenant.tenantId, channels: expect.arrayContaining(['tasks', 'memories', 'presence', 'ledger']) });
    expect(await server.waitFor((message) => message.type === 'ready')).toMatchObject({ tenantId: tenant.tenantId });
    await browser.close();
    await server.close();
  });

  it('refuses a bad credential with 401 before the socket opens', async () => {
    expect((await refusal(connect(url, { token: 'not-a-token' }))).status).toBe(401);
    expect((await refusal(connect(url, { token: `${tenant.apiKey}x` }))).status).toBe(401);
  });

  it("puts a credential in its own tenant's room: naming another tenant is refused (403 tenant-mismatch)", async () => {
    const refused = await refusal(connect(url, { token: tenant.accessToken, headers: { 'x-tenant-id': other.tenantId } }));
    expect(refused.status).toBe(403);
    expect(refused.body.type).toBe('https://tenantry.dev/problems/tenant-mismatch');
  });

  it('refuses a channel the role may not read (403) and one no module declares (400)', async () => {
    const forbidden = await refusal(connect(url, { token: viewerKey, query: 'channels=ledger' }));
    expect(forbidden.status).toBe(403);
    const unknown = await refusal(connect(url, { token: viewerKey, query: 'channels=nothing_here' }));
    expect(unknown.status).toBe(400);
  });

  it('refuses a resume point that is not a sequence with 400', async () => {
    expect((await refusal(connect(url, { token: tenant.accessToken, query: 'since=abc' }))).status).toBe(400);
    expect((await refusal(connect(url, { token: tenant.accessToken, query: 'since=-1' }))).status).toBe(400);
  });

  it('subscribes a viewer to the channels a viewer may read, and refuses ledger when asked later', async () => {
    const client = await connect(url, { token: viewerKey });
    const ready = await client.waitFor((message) => message.type === 'ready');
    expect(ready.channels).toEqual(expect.arrayContaining(['tasks', 'memories', 'presence']));
    expect(ready.channels).not.toContain('ledger');
    client.send({ type: 'subscribe', channels: ['ledger'] });
    expect(await client.waitFor((message) => message.type === 'error')).toMatchObject({ code: 'forbidden' });
    await client.close();
  });

  it('authenticates a browser by its first message, with the same rules', async () => {
    const client = await connect(url, { origin: TEST_ORIGIN });
    client.send({ type: 'auth', token: tenant.accessToken });
    expect(await client.waitFor((message) => message.type === 'ready')).toMatchObject({ tenantId: tenant.tenantId });
    expect(await client.waitFor((message) => message.type === 'synced')).toMatchObject({ seq: expect.any(Number) });
    await client.close();

    const viewer = await connect(url, { origin: TEST_ORIGIN });
    viewer.send({ type: 'auth', token: viewerKey, channels: ['ledger'] });
    expect((await viewer.closed()).code).toBe(4403);
  });

  it('closes with 4401 a first message with a bad credential, and 4400 one that is not auth', async () => {
    const bad = await connect(url);
    bad.send({ type: 'auth', token: 'nope' });
    expect((await bad.closed()).code).toBe(4401);
    const rude = await connect(url);
    rude.send({ type: 'subscribe', channels: ['tasks'] });
    expect((await rude.closed()).code).toBe(4400);
  });

  it('closes with 4401 a socket that does not authenticate within 5 s', async () => {
    const silent = await connect(url);
    const started = performance.now();
    expect((await silent.closed(8_000)).code).toBe(4401);
    expect(performance.now() - started).toBeGreaterThan(4_500);
  });
});
