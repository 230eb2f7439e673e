// Plans promise only what Tenantry enforces. Every limit and feature GET /v1/plans shows has
// a proof here that takes a tenant on that plan to it and sees the refusal (or, where the
// plan says unlimited or includes the feature, sees none); the proofs and the catalog must
// name the same keys, both ways, so a promise without a proof, or a proof without a promise, fails.
// (The API rate limit per plan is proven in test/ratelimit/.)

import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, expectProblem, invite, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { useUpQuota } from '../metering/use-up-quota.js';
import { holdMemories } from '../memory/memory-api.js';
import { connect, type RealtimeClient } from '../realtime/support/realtime-client.js';

interface AdvertisedPlan {
  key: string;
  limits: Record<string, number | null>;
  features: string[];
}

let testApp: TestApp;
let plans: AdvertisedPlan[];

beforeAll(async () => {
  testApp = await startTestApp();
  plans = (await testApp.app.inject({ method: 'GET', url: '/v1/plans' })).json().data;
});

afterAll(async () => {
  await testApp.close();
});

async function tenantOn(plan: string): Promise<SignedUpTenant> {
  const tenant = await signUp(testApp.app);
  const changed = await testApp.app.inject({ method: 'PATCH', url: '/v1/tenant/plan', headers: bearer(tenant.accessToken), payload: { plan } });
  expect(changed.statusCode).toBe(200);
  return tenant;
}

function createAgentKey(tenant: SignedUpTenant, name: string) {
  return testApp.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(tenant.accessToken), payload: { name, kind: 'agent' } });
}

function storeMemory(tenant: SignedUpTenant, content: string) {
  return testApp.app.inject({ method: 'POST', url: '/v1/memories', headers: bearer(tenant.accessToken), payload: { content } });
}

function createTask(tenant: SignedUpTenant, projectId: string) {
  return testApp.app.inject({ method: 'POST', url: '/v1/tasks', headers: bearer(tenant.accessToken), payload: { projectId, title: 'promised' } });
}

/** More than any plan's finite limit of the metric: what an unlimited plan must let through. */
function beyondEveryLimit(metric: string): number {
  const finite = plans.map((plan) => plan.limits[metric]).filter((limit): limit is number => typeof limit === 'number');
  return Math.max(0, ...finite) + 1;
}

/** A limit of the plan: takes the tenant to it, then checks the next one is refused (limit null: not refused). */
type LimitProof = (tenant: SignedUpTenant, limit: number | null, metric: string) => Promise<void>;

const limitProofs: Record<string, LimitProof> = {
  // Seats are members plus open invitations; the owner holds the first one.
  async seats(tenant, limit, metric) {
    const room = (limit ?? beyondEveryLimit(metric)) - 1;
    for (let i = 0; i < room; i++) expect((await invite(testApp.app, tenant.accessToken, `seat${i}-${tenant.slug}@example.test`, 'member')).statusCode).toBe(201);
    const next = await invite(testApp.app, tenant.accessToken, `one-more-${tenant.slug}@example.test`, 'member');
    if (limit === null) expect(next.statusCode).toBe(201);
    else expect(expectProblem(next, 403, 'plan-limit-reached')).toMatchObject({ metric, limit, current: limit });
  },

  // Agents are live API keys of kind agent.
  async agents(tenant, limit, metric) {
    const room = limit ?? beyondEveryLimit(metric);
    for (let i = 0; i < room; i++) expect((await createAgentKey(tenant, `agent ${i}`)).statusCode).toBe(201);
    const next = await createAgentKey(tenant, 'one more agent');
    if (limit === null) expect(next.statusCode).toBe(201);
    else expect(expectProblem(next, 403, 'plan-limit-reached')).toMatchObject({ metric, limit, current: limit });
  },

  // Live memories, a level; the level counter is set just below the limit to get there fast.
  async memories(tenant, limit, metric) {
    await holdMemories(testApp, tenant.tenantId, (limit ?? beyondEveryLimit(metric)) - 1);
    expect((await storeMemory(tenant, 'the last memory the plan has room for')).statusCode).toBe(201);
    const next = await storeMemory(tenant, 'one memory too many for the plan');
    if (limit === null) expect(next.statusCode).toBe(201);
    else expect(expectProblem(next, 403, 'plan-limit-reached')).toMatchObject({ metric, limit, current: limit });
  },

  // Tasks created per billing period; the counter is set just below the limit to get there fast.
  async tasks(tenant, limit, metric) {
    const project = await testApp.app.inject({ method: 'POST', url: '/v1/projects', headers: bearer(tenant.accessToken), payload: { name: 'Promises' } });
    const projectId = project.json().id;
    await useUpQuota(testApp, tenant.tenantId, metric, (limit ?? 10_000_000) - 1);
    expect((await createTask(tenant, projectId)).statusCode).toBe(201);
    const next = await createTask(tenant, projectId);
    if (limit === null) expect(next.statusCode).toBe(201);
    else expect(expectProblem(next, 429, 'quota-exceeded')).toMatchObject({ metric, limit, current: limit });
  },

  realtime_connections: (tenant, limit, metric) => realtimeConnections(tenant, limit, metric),
};

/** The test app on a real port, opened once a proof needs sockets. */
let listeningAt: Promise<string> | undefined;

/** WebSocket connections a tenant holds at once (GET /v1/realtime). */
async function realtimeConnections(tenant: SignedUpTenant, limit: number | null, metric: string): Promise<void> {
  listeningAt ??= testApp.app.listen({ port: 0, host: '127.0.0.1' });
  const url = await listeningAt;
  const held: RealtimeClient[] = [];
  try {
    for (let i = 0; i < (limit ?? beyondEveryLimit(metric)); i++) held.push(await connect(url, { token: tenant.apiKey }));
    const next = connect(url, { token: tenant.apiKey });
    if (limit === null) held.push(await next);
    else {
      const refused = (await next.then(() => undefined, (error: { status: number; body: string }) => error))!;
      expect(refused.status).toBe(403);
      expect(JSON.parse(refused.body)).toMatchObject({ type: 'https://tenantry.dev/problems/plan-limit-reached', metric, limit, current: limit });
    }
  } finally {
    await Promise.all(held.map((client) => client.close()));
  }
}

/** A feature: the gated action works when the plan includes it, else 403 naming the cheapest plan that does. */
type FeatureProof = (tenant: SignedUpTenant) => Promise<LightMyRequestResponse>;

const featureProofs: Record<string, FeatureProof> = {
  audit_log: (tenant) => testApp.app.inject({ method: 'GET', url: '/v1/audit', headers: bearer(tenant.accessToken) }),
  custom_branding: (tenant) =>
    testApp.app.inject({ method: 'PATCH', url: '/v1/tenant/settings', headers: bearer(tenant.accessToken), payload: { branding: { logoUrl: 'https://cdn.example.test/logo.png' } } }),
};

describe('what GET /v1/plans advertises', () => {
  it('names exactly the limits that have a proof of enforcement, and nothing else', () => {
    const advertised = new Set(plans.flatMap((plan) => Object.keys(plan.limits)));
    expect([...advertised].sort()).toEqual(Object.keys(limitProofs).sort());
  });

  it('names exactly the features that have a proof of enforcement, and nothing else', () => {
    const advertised = new Set(plans.flatMap((plan) => plan.features));
    expect([...advertised].sort()).toEqual(Object.keys(featureProofs).sort());
  });

  it('gives every plan a value for every limit, so no plan leaves one to a default', () => {
    for (const plan of plans) expect(Object.keys(plan.limits).sort(), plan.key).toEqual(Object.keys(limitProofs).sort());
  });
});

describe('every advertised limit is enforced at the advertised number', () => {
  for (const metric of Object.keys(limitProofs)) {
    for (const planKey of ['free', 'pro', 'promax', 'enterprise']) {
      it(`${metric} on ${planKey}`, async () => {
        const plan = plans.find((candidate) => candidate.key === planKey)!;
        expect(Object.hasOwn(plan.limits, metric)).toBe(true);
        await limitProofs[metric]!(await tenantOn(planKey), plan.limits[metric]!, metric);
      });
    }
  }
});

describe('every advertised feature is enforced on exactly the plans that include it', () => {
  for (const feature of Object.keys(featureProofs)) {
    for (const planKey of ['free', 'pro', 'promax', 'enterprise']) {
      it(`${feature} on ${planKey}`, async () => {
        const included = plans.find((plan) => plan.key === planKey)!.features.includes(feature);
        const response = await featureProofs[feature]!(await tenantOn(planKey));
        if (included) expect(response.statusCode).toBe(200);
        else {
          const cheapest = plans.find((plan) => plan.features.includes(feature))?.key ?? null;
          expect(expectProblem(response, 403, 'feature-not-in-plan')).toMatchObject({ feature, required_plan: cheapest });
        }
      });
    }
  }
});
