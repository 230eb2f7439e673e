// Events across two instances on one database: a change committed through one instance reaches
// exactly the sockets of its tenant on both, in sequence order, and a client that reconnects
// with its last sequence gets what it missed without gaps or repeats (or is told to resync).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { connect, type RealtimeClient, type Received } from './support/realtime-client.js';
import { startRealtimeInstances, waitUntil, type RealtimeInstances } from './support/realtime-instances.js';

let instances: RealtimeInstances;
let tenant: SignedUpTenant;
let other: SignedUpTenant;
let projectOf: Map<string, string>;

beforeAll(async () => {
  // A short retention, so a resume from long ago falls outside it.
  instances = await startRealtimeInstances({ TENANTRY_REALTIME_RETENTION: '40' });
  tenant = await signUp(instances.a.app);
  other = await signUp(instances.a.app);
  projectOf = new Map();
  for (const owner of [tenant, other]) {
    const project = await instances.a.app.inject({ method: 'POST', url: '/v1/projects', headers: bearer(owner.accessToken), payload: { name: 'Realtime' } });
    projectOf.set(owner.tenantId, project.json().id);
  }
});

afterAll(async () => {
  await instances.close();
});

async function createTask(owner: SignedUpTenant, title: string, via = instances.a.app): Promise<string> {
  const response = await via.inject({ method: 'POST', url: '/v1/tasks', headers: bearer(owner.accessToken), payload: { projectId: projectOf.get(owner.tenantId), title } });
  expect(response.statusCode, response.body).toBe(201);
  return response.json().id;
}

async function synced(client: RealtimeClient): Promise<number> {
  return (await client.waitFor((message) => message.type === 'synced')).seq!;
}

function taskIds(events: Received[]): string[] {
  return events.filter((event) => event.channel === 'tasks').map((event) => event.data!.id as string);
}

describe('realtime events', () => {
  it("delivers a change made through A to the tenant's sockets on A and B, and to no other tenant's", async () => {
    const onA = await connect(instances.urlA, { token: tenant.accessToken });
    const onB = await connect(instances.urlB, { token: tenant.apiKey });
    const otherOnB = await connect(instances.urlB, { token: other.accessToken });
    await Promise.all([synced(onA), synced(onB), synced(otherOnB)]);

    const id = await createTask(tenant, 'announce me');
    for (const client of [onA, onB]) {
      const event = await client.waitFor((message) => message.type === 'event' && message.data?.id === id);
      expect(event).toMatchObject({ channel: 'tasks', event: 'task.created', data: { id, status: 'todo' } });
      expect(event.data).not.toHaveProperty('title');
    }
    const otherId = await createTask(other, 'the other tenant');
    await otherOnB.waitFor((message) => message.type === 'event' && message.data?.id === otherId);
    expect(taskIds(otherOnB.events())).toEqual([otherId]);
    expect(taskIds(onA.events())).not.toContain(otherId);
    expect(taskIds(onB.events())).not.toContain(otherId);
    await Promise.all([onA.close(), onB.close(), otherOnB.close()]);
  });

  it('numbers events per tenant with no gap, in the order the changes committed', async () => {
    const client = await connect(instances.urlB, { token: tenant.accessToken });
    const start = await synced(client);
    const ids: string[] = [];
    for (let index = 0; index < 5; index += 1) ids.push(await createTask(tenant, `ordered ${index}`, index % 2 ? instances.b.app : instances.a.app));
    await client.waitFor((message) => message.data?.id === ids[4]);
    const events = client.events();
    expect(events.map((event) => event.seq)).toEqual([1, 2, 3, 4, 5].map((step) => start + step));
    expect(taskIds(events)).toEqual(ids);
    await client.close();
  });

  it("reads an older release's bus messages during a rolling deploy, and skips a newer one's, whose event the socket then reads from the log", async () => {
    const client = await connect(instances.urlB, { token: tenant.accessToken });
    const start = await synced(client);
    const admin = instances.a.database.admin;
    // Three events numbered in the log as a relay numbers them, then announced on the bus in
    // three formats: the first release's (one event), the previous one's (an unversioned
    // batch) and a newer release's (a version this one cannot read).
    const rolling = [1, 2, 3].map((step) => ({
      tenantId: tenant.tenantId, seq: start + step, channel: 'tasks', type: 'task.updated', data: { id: `rolling-${step}` }, agentId: null, at: Date.now(),
    }));
    for (const event of rolling) {
      await admin.query(
        `INSERT INTO realtime_events (tenant_id, seq, outbox_id, channel, type, data, agent_id, created_at) VALUES ($1, $2, gen_random_uuid(), $3, $4, $5, NULL, now())`,
        [event.tenantId, event.seq, event.channel, event.type, JSON.stringify(event.data)],
      );
    }
    await admin.query(
      'INSERT INTO realtime_sequences (tenant_id, last_seq) VALUES ($1, $2) ON CONFLICT (tenant_id) DO UPDATE SET last_seq = excluded.last_seq',
      [tenant.tenantId, start + 3],
    );
    const notify = (message: unknown) => admin.query("SELECT pg_notify('tenantry_realtime', $1)", [JSON.stringify(message)]);
    await notify({ kind: 'event', event: rolling[0] });
    await notify({ kind: 'events', events: [rolling[1]] });
    await notify({ v: 99, kind: 'events', events: [rolling[2]] });
    await client.waitFor((message) => message.data?.id === 'rolling-2');
    await waitUntil(() => instances.a.logs().includes('realtime bus message skipped'));
    expect(client.events().map((event) => event.data!.id)).toEqual(['rolling-1', 'rolling-2']);
    // Only the newer release's message was skipped (a skipped older one would be hidden by the
    // gap filling below, so it is looked for here).
    const skipped = instances.a.logs().split('\n').filter((line) => line.includes('realtime bus message skipped')).map((line) => JSON.parse(line).reason);
    expect(skipped).toEqual(['version 99 is newer than this instance reads (2)']);

    // The next event is past the skipped one: the connection reads the gap from the log.
    const id = await createTask(tenant, 'after a newer release spoke');
    await client.waitFor((message) => message.data?.id === id);
    const events = client.events();
    expect(events.map((event) => event.seq)).toEqual([1, 2, 3, 4].map((step) => start + step));
    expect(events.map((event) => event.data!.id)).toEqual(['rolling-1', 'rolling-2', 'rolling-3', id]);
    await client.close();
  });

  it('resumes a reconnecting client from its last sequence: what it missed, once each, then live', async () => {
    const first = await connect(instances.urlA, { token: tenant.accessToken });
    const before = await createTask(tenant, 'seen before the drop');
    const seen = await first.waitFor((message) => message.data?.id === before);
    await first.close();

    const missed: string[] = [];
    for (let index = 0; index < 4; index += 1) missed.push(await createTask(tenant, `missed ${index}`));
    // Reconnect on the other instance, resuming after the last event seen.
    const second = await connect(instances.urlB, { token: tenant.accessToken, query: `since=${seen.seq}` });
    await second.waitFor((message) => message.data?.id === missed[3]);
    const live = await createTask(tenant, 'live after the resume');
    await second.waitFor((message) => message.data?.id === live);
    const events = second.events();
    expect(taskIds(events)).toEqual([...missed, live]);
    expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => seen.seq! + 1 + index));
    await second.close();
  });

  it('tells a client resuming from beyond the retention window to resync, then follows live', async () => {
    const client = await connect(instances.urlA, { token: other.accessToken });
    const from = await synced(client);
    await client.close();
    // Past the 40 retained (pruning runs every 32nd sequence).
    for (let index = 0; index < 70; index += 1) await createTask(other, `flood ${index}`);
    const now = from + 70;
    // The relay sequences after commit: wait until the last change has its number.
    await waitUntil(async () => {
      const { rows } = await instances.a.database.admin.query('SELECT last_seq FROM realtime_sequences WHERE tenant_id = $1', [other.tenantId]);
      return Number(rows[0]?.last_seq) === now;
    });

    const late = await connect(instances.urlB, { token: other.accessToken, query: `since=${from}` });
    expect(await late.waitFor((message) => message.type === 'resync')).toMatchObject({ seq: now });
    const live = await createTask(other, 'after the resync');
    const event = await late.waitFor((message) => message.data?.id === live);
    expect(event.seq).toBe(now + 1);
    expect(late.events()).toHaveLength(1);
    await late.close();
  });

  it('keeps other tenants out of the resume: since= only reads the credential tenant\'s log', async () => {
    // The other tenant's sequence numbers are higher; resuming from 0 replays only our own events.
    const client = await connect(instances.urlB, { token: tenant.accessToken, query: 'since=0' });
    await client.waitFor((message) => message.type === 'synced');
    const ids = taskIds(client.events());
    expect(ids.length).toBeGreaterThan(0);
    const otherTasks = await instances.a.app.inject({ method: 'GET', url: '/v1/tasks?limit=100', headers: bearer(other.accessToken) });
    const foreign = new Set((otherTasks.json().data as { id: string }[]).map((task) => task.id));
    expect(ids.filter((id) => foreign.has(id))).toEqual([]);
    await client.close();
  });
});
