// Two tenants, two instances, many sockets each, changes made concurrently through both
// instances: every socket receives exactly its own tenant's events, each once, in sequence
// order, and not one of the other tenant's. Presence counts a room across instances, and the
// plan's connection limit is measured against that count.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { connect, type RealtimeClient } from './support/realtime-client.js';
import { startRealtimeInstances, waitUntil, type RealtimeInstances } from './support/realtime-instances.js';

let instances: RealtimeInstances;

beforeAll(async () => {
  instances = await startRealtimeInstances();
});

afterAll(async () => {
  await instances.close();
});

// Five per instance: ten a tenant, past the free plan's five (the tenants move to pro).
const SOCKETS_PER_TENANT_PER_INSTANCE = 5;
const TASKS_PER_TENANT = 40;

describe('realtime isolation under load', () => {
  it("delivers every event to exactly its own tenant's sockets, once, in order", async () => {
    const tenants = [await signUp(instances.a.app), await signUp(instances.a.app)];
    for (const tenant of tenants) {
      const moved = await instances.a.app.inject({ method: 'PATCH', url: '/v1/tenant/plan', headers: bearer(tenant.accessToken), payload: { plan: 'pro' } });
      expect(moved.statusCode).toBe(200);
    }
    const projects = new Map<string, string>();
    for (const tenant of tenants) {
      const project = await instances.a.app.inject({ method: 'POST', url: '/v1/projects', headers: bearer(tenant.accessToken), payload: { name: 'Load' } });
      projects.set(tenant.tenantId, project.json().id);
    }
    const sockets = new Map<string, RealtimeClient[]>();
    for (const tenant of tenants) {
      const clients: RealtimeClient[] = [];
      for (let index = 0; index < SOCKETS_PER_TENANT_PER_INSTANCE; index += 1) {
        clients.push(await connect(instances.urlA, { token: index % 2 ? tenant.apiKey : tenant.accessToken, query: 'channels=tasks' }));
        clients.push(await connect(instances.urlB, { token: index % 2 ? tenant.accessToken : tenant.apiKey, query: 'channels=tasks' }));
      }
      sockets.set(tenant.tenantId, clients);
    }
    const all = [...sockets.values()].flat();
    await Promise.all(all.map((client) => client.waitFor((message) => message.type === 'synced')));

    // Both tenants write at once, half through each instance, several requests in flight.
    const created = new Map<string, string[]>(tenants.map((tenant) => [tenant.tenantId, []]));
    const write = async (tenant: SignedUpTenant, index: number) => {
      const via = index % 2 ? instances.b.app : instances.a.app;
      const response = await via.inject({ method: 'POST', url: '/v1/tasks', headers: bearer(tenant.accessToken), payload: { projectId: projects.get(tenant.tenantId), title: `load ${index}` } });
      expect(response.statusCode).toBe(201);
      created.get(tenant.tenantId)!.push(response.json().id);
    };
    const work = [];
    for (let index = 0; index < TASKS_PER_TENANT; index += 1) for (const tenant of tenants) work.push(write(tenant, index));
    for (let start = 0; start < work.length; start += 8) await Promise.all(work.slice(start, start + 8));

    for (const tenant of tenants) {
      const own = new Set(created.get(tenant.tenantId));
      const foreign = new Set(created.get(tenants.find((other) => other !== tenant)!.tenantId));
      for (const client of sockets.get(tenant.tenantId)!) {
        await waitUntil(() => client.events().length >= TASKS_PER_TENANT, 20_000);
        const events = client.events();
        const ids = events.map((event) => event.data!.id as string);
        expect(ids.filter((id) => foreign.has(id))).toEqual([]);
        expect(new Set(ids)).toEqual(own);
        expect(ids).toHaveLength(TASKS_PER_TENANT);
        const seqs = events.map((event) => event.seq!);
        expect(seqs).toEqual(seqs.map((_, index) => seqs[0]! + index));
      }
    }
    // Every socket of a tenant saw the same order.
    for (const clients of sockets.values()) {
      const orders = clients.map((client) => client.events().map((event) => event.data!.id).join());
      expect(new Set(orders).size).toBe(1);
    }
    await Promise.all(all.map((client) => client.close()));
  });

  it('counts presence across instances, by user and key, on the presence channel', async () => {
    const tenant = await signUp(instances.a.app);
    const watcher = await connect(instances.urlA, { token: tenant.accessToken, query: 'channels=presence' });
    const elsewhere = await connect(instances.urlB, { token: tenant.apiKey });
    const again = await connect(instances.urlB, { token: tenant.apiKey });
    const expected = [
      { kind: 'user', id: tenant.userId, connections: 1 },
      { kind: 'api_key', id: expect.any(String), connections: 2 },
    ];
    await waitUntil(() => {
      const last = watcher.messages.filter((message) => message.type === 'presence').at(-1);
      return (last?.members as unknown[] | undefined)?.length === 2 && JSON.stringify(last!.members).includes('"connections":2');
    });
    const last = watcher.messages.filter((message) => message.type === 'presence').at(-1)!;
    expect(last.members).toEqual(expect.arrayContaining(expected));
    await again.close();
    await elsewhere.close();
    await waitUntil(() => {
      const latest = watcher.messages.filter((message) => message.type === 'presence').at(-1);
      return (latest?.members as unknown[] | undefined)?.length === 1;
    });
    await watcher.close();
  });

  it("refuses a connection past the plan's limit, counted across instances (403 plan-limit-reached)", async () => {
    const tenant = await signUp(instances.a.app); // free: 5 connections
    const clients: RealtimeClient[] = [];
    for (let index = 0; index < 5; index += 1) clients.push(await connect(index % 2 ? instances.urlB : instances.urlA, { token: tenant.apiKey }));
    // Presence (what the limit counts) reaches the other instance within a moment.
    await waitUntil(async () => {
      try {
        const extra = await connect(instances.urlA, { token: tenant.apiKey });
        clients.push(extra);
        return false;
      } catch (error) {
        return (error as { status?: number }).status === 403 && JSON.parse((error as { body: string }).body).type === 'https://tenantry.dev/problems/plan-limit-reached';
      }
    });
    expect(clients.length).toBeLessThanOrEqual(7);
    await Promise.all(clients.map((client) => client.close()));
  });
});
