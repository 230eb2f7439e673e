// Events reach a tenant's receiver signed by the Standard Webhooks scheme (checked with its
// reference implementation), are retried with backoff until the receiver answers 2xx and never
// after, redirects are not followed, the log records every attempt, replay sends the same event
// again, and a rotated secret signs beside the new one for the overlap.

import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { signUp, type SignedUpTenant } from '../support/fixtures.js';
import type { TestApp } from '../support/test-app.js';
import { startReceiver, type Receiver } from './support/receiver.js';
import { call, eventually, FAST_RETRIES_ENV, LOCAL_RECEIVER_ENV, startWebhookApp } from './support/webhook-app.js';

let testApp: TestApp;
let receiver: Receiver;
let tenant: SignedUpTenant;

beforeAll(async () => {
  testApp = await startWebhookApp({ ...LOCAL_RECEIVER_ENV, ...FAST_RETRIES_ENV });
  receiver = await startReceiver();
});

afterAll(async () => {
  await receiver?.close();
  await testApp?.close();
});

beforeEach(async () => {
  tenant = await signUp(testApp.app);
  receiver.received.length = 0;
  receiver.script();
});

async function createEndpoint(url = receiver.url, body: object = {}): Promise<{ id: string; secret: string }> {
  const response = await call(testApp, tenant.accessToken, 'POST', '/v1/webhooks/endpoints', { url, ...body });
  expect(response.statusCode, response.body).toBe(201);
  const { endpoint, secret } = response.json();
  return { id: endpoint.id, secret };
}

async function sendTest(endpointId?: string): Promise<{ eventId: string; deliveryIds: string[] }> {
  const response = await call(testApp, tenant.accessToken, 'POST', '/v1/webhooks/test', endpointId ? { endpointId } : {});
  expect(response.statusCode, response.body).toBe(202);
  return response.json();
}

async function delivery(id: string) {
  const response = await call(testApp, tenant.accessToken, 'GET', `/v1/webhooks/deliveries/${id}`);
  expect(response.statusCode, response.body).toBe(200);
  return response.json();
}

async function finished(id: string) {
  let detail: Awaited<ReturnType<typeof delivery>>;
  await eventually(async () => {
    detail = await delivery(id);
    return detail.delivery.status !== 'pending';
  });
  return detail!;
}

function headersOf(index: number): Record<string, string> {
  const { headers } = receiver.received[index]!;
  return { 'webhook-id': String(headers['webhook-id']), 'webhook-timestamp': String(headers['webhook-timestamp']), 'webhook-signature': String(headers['webhook-signature']) };
}

describe('delivering a tenant event', () => {
  it('POSTs the event signed so that the Standard Webhooks reference implementation verifies it with the secret shown at creation', async () => {
    const endpoint = await createEndpoint();
    expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const { eventId, deliveryIds } = await sendTest();
    expect(deliveryIds).toHaveLength(1);
    const detail = await finished(deliveryIds[0]!);

    expect(detail.delivery).toMatchObject({ status: 'succeeded', attempts: 1, lastStatusCode: 200, eventType: 'webhook.test', eventId });
    expect(receiver.received).toHaveLength(1);
    const { body } = receiver.received[0]!;
    expect(receiver.received[0]!.headers['content-type']).toBe('application/json');
    const verified = new Webhook(endpoint.secret).verify(body, headersOf(0));
    expect(verified).toMatchObject({ type: 'webhook.test', data: { message: expect.any(String) } });
    expect(headersOf(0)['webhook-id']).toBe(eventId);
    // The same check fails for a body changed by one byte, and for another secret.
    expect(() => new Webhook(endpoint.secret).verify(body.replace('test', 'tesT'), headersOf(0))).toThrow();
    expect(() => new Webhook('whsec_' + Buffer.alloc(32, 7).toString('base64')).verify(body, headersOf(0))).toThrow();
  });

  it('retries a receiver that fails three times with backoff, sends the same signed event each time, and never again after it succeeds', async () => {
    const endpoint = await createEndpoint();
    receiver.script(500, 503, 500);
    const { deliveryIds } = await sendTest();
    const detail = await finished(deliveryIds[0]!);

    expect(detail.delivery).toMatchObject({ status: 'succeeded', attempts: 4, lastStatusCode: 200, lastError: null });
    expect(detail.attempts.map((attempt: { statusCode: number; outcome: string }) => [attempt.statusCode, attempt.outcome])).toEqual([
      [500, 'failed'],
      [503, 'failed'],
      [500, 'failed'],
      [200, 'succeeded'],
    ]);
    expect(detail.attempts[0].responseBody).toBe('answer 500');
    expect(receiver.received).toHaveLength(4);
    const ids = new Set(receiver.received.map((request) => request.headers['webhook-id']));
    expect(ids.size).toBe(1);
    for (let i = 0; i < 4; i += 1) expect(() => new Webhook(endpoint.secret).verify(receiver.received[i]!.body, headersOf(i))).not.toThrow();
    // Each retry waited at least half its backoff (100 ms, 200 ms, 400 ms, with jitter).
    const times = detail.attempts.map((attempt: { at: string }) => Date.parse(attempt.at));
    for (let i = 1; i < times.length; i += 1) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(45);

    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(receiver.received).toHaveLength(4);
    expect((await delivery(deliveryIds[0]!)).attempts).toHaveLength(4);
  });

  it('gives up once the retry window has passed, and says why in the log', async () => {
    const shortWindow = await startWebhookApp({ ...LOCAL_RECEIVER_ENV, ...FAST_RETRIES_ENV, TENANTRY_WEBHOOK_RETRY_WINDOW_SECONDS: '1' });
    try {
      const owner = await signUp(shortWindow.app);
      const created = await call(shortWindow, owner.accessToken, 'POST', '/v1/webhooks/endpoints', { url: receiver.url });
      receiver.script(...new Array(100).fill(500));
      const { deliveryIds } = (await call(shortWindow, owner.accessToken, 'POST', '/v1/webhooks/test', { endpointId: created.json().endpoint.id })).json();
      let detail: { delivery: { status: string; attempts: number; lastStatusCode: number } } | undefined;
      await eventually(async () => {
        detail = (await call(shortWindow, owner.accessToken, 'GET', `/v1/webhooks/deliveries/${deliveryIds[0]}`)).json();
        return detail!.delivery.status !== 'pending';
      });
      expect(detail!.delivery).toMatchObject({ status: 'failed', lastStatusCode: 500 });
      expect(detail!.delivery.attempts).toBeGreaterThanOrEqual(2);
      const sent = receiver.received.length;
      await new Promise((resolve) => setTimeout(resolve, 800));
      expect(receiver.received).toHaveLength(sent);
    } finally {
      await shortWindow.close();
    }
  });

  it('does not follow a redirect: the attempt fails and the address it points to hears nothing', async () => {
    const elsewhere = await startReceiver();
    try {
      await createEndpoint();
      receiver.script({ status: 302, headers: { location: elsewhere.url } }, 302, 302);
      const { deliveryIds } = await sendTest();
      await eventually(async () => (await delivery(deliveryIds[0]!)).attempts.length >= 1);
      const [first] = (await delivery(deliveryIds[0]!)).attempts;
      expect(first).toMatchObject({ outcome: 'failed', statusCode: 302, error: 'redirect (302) not followed' });
      expect(elsewhere.received).toEqual([]);
    } finally {
      await elsewhere.close();
    }
  });

  it('sends only the event types an endpoint subscribes to', async () => {
    await createEndpoint(receiver.url, { eventTypes: ['usage.warning'] });
    const everything = await createEndpoint();
    const { deliveryIds } = await sendTest();
    expect(deliveryIds).toHaveLength(1);
    expect((await finished(deliveryIds[0]!)).delivery.endpointId).toBe(everything.id);
  });
});

describe('the delivery log and replay', () => {
  it('lists deliveries newest first in keyset pages, filtered by endpoint and status', async () => {
    const first = await createEndpoint();
    const second = await createEndpoint();
    const sent = [];
    for (let i = 0; i < 3; i += 1) sent.push(...(await sendTest(first.id)).deliveryIds);
    sent.push(...(await sendTest(second.id)).deliveryIds);
    for (const id of sent) await finished(id);

    const page1 = (await call(testApp, tenant.accessToken, 'GET', `/v1/webhooks/deliveries?limit=2&endpointId=${first.id}`)).json();
    expect(page1.data.map((row: { id: string }) => row.id)).toEqual([sent[2], sent[1]]);
    const page2 = (await call(testApp, tenant.accessToken, 'GET', `/v1/webhooks/deliveries?limit=2&endpointId=${first.id}&cursor=${page1.nextCursor}`)).json();
    expect(page2.data.map((row: { id: string }) => row.id)).toEqual([sent[0]]);
    expect(page2.nextCursor).toBeNull();
    const failed = (await call(testApp, tenant.accessToken, 'GET', '/v1/webhooks/deliveries?status=failed')).json();
    expect(failed.data).toEqual([]);
  });

  it('replays a finished delivery: the receiver gets the same event (same webhook-id) again, newly signed', async () => {
    const endpoint = await createEndpoint();
    const { eventId, deliveryIds } = await sendTest();
    await finished(deliveryIds[0]!);
    const replay = await call(testApp, tenant.accessToken, 'POST', `/v1/webhooks/deliveries/${deliveryIds[0]}/replay`);
    expect(replay.statusCode, replay.body).toBe(202);
    const replayed = replay.json().delivery;
    expect(replayed).toMatchObject({ eventId, replayOf: deliveryIds[0], status: 'pending', attempts: 0 });
    expect((await finished(replayed.id)).delivery.status).toBe('succeeded');
    expect(receiver.received).toHaveLength(2);
    expect(receiver.received[1]!.body).toBe(receiver.received[0]!.body);
    expect(headersOf(1)['webhook-id']).toBe(eventId);
    expect(() => new Webhook(endpoint.secret).verify(receiver.received[1]!.body, headersOf(1))).not.toThrow();
  });

  it('refuses to replay a delivery that is still being retried (409), and changes nothing', async () => {
    await createEndpoint();
    receiver.script(...new Array(50).fill(500));
    const { deliveryIds } = await sendTest();
    const response = await call(testApp, tenant.accessToken, 'POST', `/v1/webhooks/deliveries/${deliveryIds[0]}/replay`);
    expect(response.statusCode).toBe(409);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    const list = (await call(testApp, tenant.accessToken, 'GET', '/v1/webhooks/deliveries')).json();
    expect(list.data).toHaveLength(1);
    // Stop the retries for the tests after this one.
    const [endpoint] = (await call(testApp, tenant.accessToken, 'GET', '/v1/webhooks/endpoints')).json().data;
    await call(testApp, tenant.accessToken, 'DELETE', `/v1/webhooks/endpoints/${endpoint.id}`);
    expect((await finished(deliveryIds[0]!)).delivery).toMatchObject({ status: 'failed', lastError: 'the endpoint was deleted' });
  });
});

describe('rotating the signing secret', () => {
  it('signs with the new secret and, during the overlap, with the old one too', async () => {
    const endpoint = await createEndpoint();
    const rotated = await call(testApp, tenant.accessToken, 'POST', `/v1/webhooks/endpoints/${endpoint.id}/rotate-secret`);
    expect(rotated.statusCode, rotated.body).toBe(200);
    const { secret: newSecret, endpoint: view } = rotated.json();
    expect(newSecret).not.toBe(endpoint.secret);
    expect(Date.parse(view.previousSecretExpiresAt)).toBeGreaterThan(Date.now() + 23 * 3600_000);

    const { deliveryIds } = await sendTest();
    await finished(deliveryIds[0]!);
    const { body } = receiver.received[0]!;
    expect(headersOf(0)['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(() => new Webhook(newSecret).verify(body, headersOf(0))).not.toThrow();
    expect(() => new Webhook(endpoint.secret).verify(body, headersOf(0))).not.toThrow();
  });

  it('stops signing with the old secret once the overlap has ended', async () => {
    const shortOverlap = await startWebhookApp({ ...LOCAL_RECEIVER_ENV, TENANTRY_WEBHOOK_SECRET_OVERLAP_SECONDS: '1' });
    let created: { secret: string; endpoint: { id: string } };
    let rotated: { secret: string };
    try {
      const owner = await signUp(shortOverlap.app);
      created = (await call(shortOverlap, owner.accessToken, 'POST', '/v1/webhooks/endpoints', { url: receiver.url })).json();
      rotated = (await call(shortOverlap, owner.accessToken, 'POST', `/v1/webhooks/endpoints/${created.endpoint.id}/rotate-secret`)).json();
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      await call(shortOverlap, owner.accessToken, 'POST', '/v1/webhooks/test', {});
      await eventually(() => receiver.received.length === 1);
    } finally {
      await shortOverlap.close();
    }
    const { body } = receiver.received[0]!;
    expect(headersOf(0)['webhook-signature']!.split(' ')).toHaveLength(1);
    expect(() => new Webhook(rotated.secret).verify(body, headersOf(0))).not.toThrow();
    expect(() => new Webhook(created.secret).verify(body, headersOf(0))).toThrow();
  });
});
