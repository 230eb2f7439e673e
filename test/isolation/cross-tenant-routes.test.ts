// Tenant B attacks tenant A through every route the app serves that takes a tenant id (in its
// path, or as a uuid in its query or body), read from the app's own route table, so a new
// module's routes are attacked without anyone listing them. B's owner, its API key and its
// lowest-role member send every value of A's rows that fits, with a valid body, and must get
// exactly the answer a made-up id of the same shape gets, with nothing of A in it. A's rows,
// in every registered tenant table, stay as they were.

import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUuid } from '../../src/db/ids.js';
import { addNewMember, bearer, problemShape, signUp } from '../support/fixtures.js';
import { publishedOperations, servedParameterisedRoutes } from '../support/registered-routes.js';
import { pathParameters, reachedHandler, RouteAttacks, type AttackRequest, type CatalogNames } from '../support/route-attacks.js';
import { seedTenant } from '../support/seed.js';
import { changedTables, columnValues, tenantSnapshot, withoutColumns, type TenantSnapshot } from '../support/tenant-snapshot.js';
import { startTestApp } from '../support/test-app.js';
import { seedInvoice } from '../../examples/invoices/test/seed-invoice.js';
import { invoicesModule } from '../../examples/invoices/src/invoices.module.js';
import { TEST_MODULES } from '../support/modules.js';

const ADMIN_TOKEN = 'platform-admin-token-for-the-cross-tenant-routes-0123456789';

/** Requests in flight at once: enough to keep two cores busy, few enough for a shared machine. */
const BATCH = 8;

const FLAG_KEY = 'a flag key names a flag of the platform catalog, which all tenants share';
const PLAN_NAME = 'a plan name names a plan of the platform catalog';

/**
 * Path parameters that name an entry of a platform catalog, not a row of a tenant: there is no
 * made-up counterpart to compare with. Their routes are still called, with every name A's rows
 * use, and must show nothing of A and leave A's rows as they were.
 */
const CATALOG_NAMES: CatalogNames = {
  '/v1/flags/{key}': { key: FLAG_KEY },
  '/v1/admin/flags/{key}': { key: FLAG_KEY },
  '/v1/admin/flags/{key}/plans/{plan}': { key: FLAG_KEY, plan: PLAN_NAME },
  '/v1/admin/flags/{key}/tenants/{tenantId}': { key: FLAG_KEY },
  '/v1/admin/plans/{key}': { key: PLAN_NAME },
  '/v1/admin/plans/{key}/retire': { key: PLAN_NAME },
};

/** Parameterised routes served but not published, and why none of them takes a tenant's id. */
const UNPUBLISHED: Record<string, string> = {
  'GET /docs/*': 'the static files of the API reference page',
};

/**
 * What B's own requests may change of B's rows during the attack, and why: the named columns,
 * or the whole table. Every other row of B, and every row of A, must come out as it went in.
 */
const WRITTEN_BY_B: Record<string, { readonly why: string; readonly columns?: readonly string[] }> = {
  api_keys: { why: "B's API key records when it was last used", columns: ['last_used_at'] },
  usage_rollups: { why: "every request of B is metered: the API-call meter adds B's calls into B's api_calls buckets" },
  usage_counters: { why: "revoking a key locks B's agents counter first, opening it at zero, whether or not the key is B's" },
  flag_overrides: { why: "PUT and DELETE /v1/flags/{key} set and clear B's own override of a catalog flag: what they are for" },
  audit_log: { why: "each change of B's own overrides is audited in B's log" },
};

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

// The built-in modules and the example adopter's: a module's routes and tables are attacked
// because it is registered, not because anyone listed them here.
const testApp = await startTestApp({ TENANTRY_PLATFORM_ADMIN_TOKEN: ADMIN_TOKEN }, { modules: [...TEST_MODULES, invoicesModule] });
const registeredTenantTables = [...testApp.services.modules.tenantTables];
const { document, operations } = await publishedOperations(testApp.app);
const routeAttacks = new RouteAttacks(document, CATALOG_NAMES);

interface Attacker {
  readonly name: string;
  readonly headers: Record<string, string>;
}

/** What a request answered, reduced to what two answers of the same kind share. */
interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly text: string;
}

let attackers: Attacker[];
/** Values only A's rows hold (B holds none of them), every value of A's rows, and of B's. */
let onlyOfA: string[];
let valuesOfA: string[];
let valuesOfB: string[];
/** What no answer to B may contain: A's ids, its tenant's name, slug and subdomain. */
let secretsOfA: string[];
let before: { readonly a: TenantSnapshot; readonly b: TenantSnapshot };
let tenantA: string;
let tenantB: string;

function answerOf(response: LightMyRequestResponse): Answer {
  let body: unknown = response.body;
  try {
    const json = response.json();
    body = json !== null && typeof json === 'object' && !Array.isArray(json) ? problemShape(json) : json;
  } catch {
    // Not JSON (an empty 204, say): the text itself is compared.
  }
  return { status: response.statusCode, body, text: response.body };
}

function send(attacker: Attacker, method: string, { url, body }: AttackRequest): Promise<Answer> {
  return testApp.app.inject({ method: method as 'GET', url, headers: attacker.headers, ...(body === undefined ? {} : { payload: body }) }).then(answerOf);
}

async function inBatches<T, R>(items: readonly T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let start = 0; start < items.length; start += BATCH) results.push(...(await Promise.all(items.slice(start, start + BATCH).map(work))));
  return results;
}

/** The answer to each distinct request, by the request's JSON. */
async function answersTo(attacker: Attacker, method: string, requests: readonly AttackRequest[]): Promise<Map<string, Answer>> {
  const distinct = [...new Map(requests.map((request) => [JSON.stringify(request), request])).values()];
  const answers = await inBatches(distinct, (request) => send(attacker, method, request));
  return new Map(distinct.map((request, i) => [JSON.stringify(request), answers[i]!]));
}

/** A's secrets in an answer, but for the problem's `instance`: the echo of B's own request path. */
function leaks(answer: Answer): string[] {
  const text = (typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body)).toLowerCase();
  return secretsOfA.filter((secret) => text.includes(secret.toLowerCase()));
}

async function settled(tenantId: string): Promise<TenantSnapshot> {
  await testApp.services.metering.apiCalls.flush();
  return tenantSnapshot(testApp.database.admin, registeredTenantTables, tenantId);
}

beforeAll(async () => {
  const { app } = testApp;
  tenantA = (await seedTenant(testApp.database.admin, 'A')).tenantId;
  await seedInvoice(testApp.database.admin, tenantA);
  const b = await signUp(app);
  tenantB = b.tenantId;
  const asOwner = async (method: 'POST' | 'PATCH', url: string, payload: object) => {
    const response = await app.inject({ method, url, headers: bearer(b.accessToken), payload });
    if (response.statusCode >= 300) throw new Error(`set-up ${method} ${url} failed: ${response.statusCode} ${response.body}`);
    return response.json();
  };
  // Enterprise: no plan gate or quota answers before the handler looks the id up.
  await asOwner('PATCH', '/v1/tenant/plan', { plan: 'enterprise' });
  const viewer = await addNewMember(app, b.accessToken, 'viewer');
  // B's own rows, so attacks that pair one of B's ids with one of A's reach the second lookup.
  const project = await asOwner('POST', '/v1/projects', { name: 'B project' });
  await asOwner('POST', '/v1/tasks', { projectId: project.id, title: 'B task', assigneeId: viewer.userId });
  await asOwner('POST', `/v1/projects/${project.id}/members`, { userId: viewer.userId });
  attackers = [
    { name: "B's owner", headers: bearer(b.accessToken) },
    { name: "B's API key", headers: bearer(b.apiKey) },
    { name: "B's viewer", headers: bearer(viewer.accessToken) },
  ];

  before = { a: await settled(tenantA), b: await settled(tenantB) };
  valuesOfA = columnValues(before.a);
  valuesOfB = columnValues(before.b);
  onlyOfA = valuesOfA.filter((value) => !valuesOfB.includes(value));
  const tenant = JSON.parse(before.a.tenants![0]!) as { name: string; slug: string; subdomain: string | null };
  secretsOfA = [...onlyOfA.filter(isUuid), tenant.name, tenant.slug, ...(tenant.subdomain ? [tenant.subdomain] : [])];
});

afterAll(async () => {
  await testApp.close();
});

describe('the route table', () => {
  const parameterised = operations.filter((operation) => pathParameters(operation).length > 0);

  it("publishes every parameterised route the app serves, but for the reference page's static files", () => {
    const published = new Set(parameterised.map((operation) => `${operation.method} ${operation.path}`));
    // HEAD runs a GET route's own handler, so it is attacked with that GET.
    const served = servedParameterisedRoutes(testApp.app).filter((route) => !route.startsWith('HEAD '));
    expect(served.filter((route) => !published.has(route) && !(route in UNPUBLISHED))).toEqual([]);
    // Read the other way too, so a change in how Fastify prints its routes cannot pass unseen.
    expect([...published].filter((route) => !served.includes(route))).toEqual([]);
  });

  it('names as catalog names only parameters its routes have', () => {
    const named = Object.entries(CATALOG_NAMES).flatMap(([path, parameters]) => Object.keys(parameters).map((name) => `${path} {${name}}`));
    const real = parameterised.flatMap((operation) => pathParameters(operation).map((parameter) => `${operation.path} {${parameter.name}}`));
    expect(named.filter((entry) => !real.includes(entry))).toEqual([]);
  });
});

describe('tenant A', () => {
  it('has rows in every registered tenant table, each of them under attack', () => {
    expect(registeredTenantTables.filter((table) => !before.a[table]?.length)).toEqual([]);
  });
});

describe("tenant B's owner, API key and viewer, on every route taking a tenant id, with every id of A's that fits", () => {
  for (const operation of operations.filter((candidate) => routeAttacks.idSlots(candidate).length > 0)) {
    it(`${operation.method} ${operation.path} answers as for a made-up id, and shows nothing of A`, async () => {
      const attacks = routeAttacks.idAttacks(operation, routeAttacks.bodyFor(operation), { attacked: onlyOfA, own: valuesOfB });
      expect(attacks.length).toBeGreaterThan(0);
      if (operation.body) {
        const bodies = attacks.flatMap((attack) => [attack.request.body, attack.madeUp.body]);
        expect(bodies.flatMap((body) => routeAttacks.schemaRefusals(operation, body)), 'the bodies sent').toEqual([]);
      }
      const failures: string[] = [];
      let reached = false;
      for (const attacker of attackers) {
        const madeUpAnswers = await answersTo(attacker, operation.method, attacks.map((attack) => attack.madeUp));
        const answers = await inBatches(attacks, (attack) => send(attacker, operation.method, attack.request));
        attacks.forEach((attack, i) => {
          const answer = answers[i]!;
          const expected = madeUpAnswers.get(JSON.stringify(attack.madeUp))!;
          reached ||= reachedHandler(answer.status, answer.body, attack.fields);
          const where = `${attacker.name}: ${operation.method} ${attack.request.url}${attack.request.body === undefined ? '' : ` ${JSON.stringify(attack.request.body)}`}`;
          if (answer.status !== expected.status || JSON.stringify(answer.body) !== JSON.stringify(expected.body)) {
            failures.push(`${where} answered ${answer.status} ${answer.text.slice(0, 200)}; made up, ${expected.status} ${expected.text.slice(0, 200)}`);
          }
          for (const secret of leaks(answer)) failures.push(`${where} answered with ${secret} of A: ${answer.text.slice(0, 200)}`);
        });
      }
      expect(failures).toEqual([]);
      if (MUTATING.has(operation.method)) expect(reached, 'some attack got past validation to the handler').toBe(true);
    });
  }
});

describe("tenant B's owner, API key and viewer, on every route taking only catalog names, with every name A's rows use", () => {
  const byNamesOnly = operations.filter((operation) => pathParameters(operation).length > 0 && routeAttacks.idSlots(operation).length === 0);
  for (const operation of byNamesOnly) {
    it(`${operation.method} ${operation.path} shows nothing of A`, async () => {
      const body = routeAttacks.bodyFor(operation);
      if (operation.body) expect(routeAttacks.schemaRefusals(operation, body), 'the body sent').toEqual([]);
      const urls = routeAttacks.catalogAttacks(operation, valuesOfA);
      expect(urls.length).toBeGreaterThan(0);
      const failures: string[] = [];
      let reached = false;
      for (const attacker of attackers) {
        const answers = await inBatches(urls, (url) => send(attacker, operation.method, { url, body }));
        answers.forEach((answer, i) => {
          reached ||= reachedHandler(answer.status, answer.body, []);
          for (const secret of leaks(answer)) failures.push(`${attacker.name}: ${operation.method} ${urls[i]} answered with ${secret} of A: ${answer.text.slice(0, 200)}`);
        });
      }
      expect(failures).toEqual([]);
      if (MUTATING.has(operation.method)) expect(reached, 'some attack got past validation to the handler').toBe(true);
    });
  }
});

describe('after the whole attack', () => {
  it("leaves A's rows as they were, in every registered tenant table, its tenant row and its users", async () => {
    const after = await settled(tenantA);
    expect(changedTables(before.a, after)).toEqual([]);
    expect(after).toEqual(before.a);
  });

  it("leaves B's rows as they were, but where B's own requests legitimately write", async () => {
    const after = await settled(tenantB);
    const unexpected = changedTables(before.b, after).filter((table) => {
      const allowed = WRITTEN_BY_B[table];
      if (!allowed) return true;
      if (!allowed.columns) return false;
      return JSON.stringify(withoutColumns(before.b[table] ?? [], allowed.columns)) !== JSON.stringify(withoutColumns(after[table] ?? [], allowed.columns));
    });
    expect(unexpected).toEqual([]);
  });
});
