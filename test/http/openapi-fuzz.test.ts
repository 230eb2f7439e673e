// Every operation /openapi.json publishes, sent malformed requests derived from its own
// schemas (seeded): never a 5xx, every error problem+json, a refused request writes nothing,
// and every answer is one the document declares: its status, content type and body schema.

import { isDeepStrictEqual } from 'node:util';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { dataFingerprint, type DataFingerprint } from '../support/data-fingerprint.js';
import { casesFor, operationsOf, seededRandom, type FuzzCase, type JsonSchema, type KnownValues, type Operation } from '../support/openapi-cases.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/** Change it to explore other cases; a failure names its case, so any seed replays exactly. */
const SEED = Number(process.env.TENANTRY_FUZZ_SEED ?? 20_240_601);
const ADMIN_TOKEN = 'platform-admin-token-for-the-openapi-fuzz-0123456789';
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

// The operations are read from the running app's own document before the tests are declared.
const testApp: TestApp = await startTestApp({ TENANTRY_PLATFORM_ADMIN_TOKEN: ADMIN_TOKEN });
const document = (await testApp.app.inject({ method: 'GET', url: '/openapi.json' })).json();
const operations = operationsOf(document);

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
// The document is one schema resource, so a response schema's #/components/schemas/... refs resolve.
const ajv = addFormats(new Ajv({ strict: false, allErrors: true }));
ajv.addSchema(document, 'openapi.json');
const validators = new Map<string, ValidateFunction>();

function pointer(...steps: string[]): string {
  return steps.map((step) => step.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
}

/** Why an answer is not one the document declares for its operation; empty when it is. */
function undeclared(operation: Operation, response: LightMyRequestResponse): string[] {
  const declared = document.paths[operation.path][operation.method.toLowerCase()].responses as Record<string, { content?: Record<string, unknown> }>;
  const status = String(response.statusCode);
  const answer = declared[status];
  if (!answer) return [`answered ${status}, which the document does not declare (it declares ${Object.keys(declared).join(', ')})`];
  if (!answer.content) return response.body === '' ? [] : [`answered ${status} with a body where the document declares none`];
  const mediaType = String(response.headers['content-type']).split(';')[0]!.trim();
  if (!(mediaType in answer.content)) return [`answered ${status} as ${mediaType}; the document declares ${Object.keys(answer.content).join(', ')}`];
  const ref = `openapi.json#/${pointer('paths', operation.path, operation.method.toLowerCase(), 'responses', status, 'content', mediaType, 'schema')}`;
  let validate = validators.get(ref);
  if (!validate) validators.set(ref, (validate = ajv.compile({ $ref: ref })));
  if (validate(response.json())) return [];
  return [`answered ${status} with a body the document's schema refuses: ${ajv.errorsText(validate.errors)}: ${response.body.slice(0, 200)}`];
}
interface Fixtures {
  readonly owner: SignedUpTenant;
  readonly projectId: string;
  readonly taskId: string;
  readonly apiKeyId: string;
  readonly invitationId: string;
}

let fixtures: Fixtures;
let baseline: DataFingerprint;

async function created(url: string, payload: unknown, token: string): Promise<Record<string, any>> {
  const response = await testApp.app.inject({ method: url.startsWith('/v1/admin/flags') ? 'PUT' : 'POST', url, headers: bearer(token), payload: payload as object });
  if (response.statusCode >= 300) throw new Error(`set-up ${url} failed: ${response.statusCode} ${response.body}`);
  return response.json();
}

beforeAll(async () => {
  const owner = await signUp(testApp.app);
  // Enterprise: the audit log is in the plan and no quota stops the handlers early.
  await testApp.app.inject({ method: 'PATCH', url: '/v1/tenant/plan', headers: bearer(owner.accessToken), payload: { plan: 'enterprise' } });
  const project = await created('/v1/projects', { name: 'Fuzzed' }, owner.accessToken);
  const task = await created('/v1/tasks', { projectId: project.id, title: 'Fuzzed' }, owner.accessToken);
  const apiKey = await created('/v1/api-keys', { name: 'fuzzed' }, owner.accessToken);
  const invitation = await created('/v1/members', { email: 'fuzzed-invitee@example.test', role: 'member' }, owner.accessToken);
  await created('/v1/admin/flags/fuzz_flag', { kind: 'variant', defaultValue: 'a', tenantEditable: true }, ADMIN_TOKEN);
  fixtures = { owner, projectId: project.id, taskId: task.id, apiKeyId: apiKey.id, invitationId: invitation.invitationId };
  baseline = await dataFingerprint(testApp.database.admin);
});

afterAll(async () => {
  await testApp.close();
});

/** Real ids and keys by field name, so plausible requests reach handlers, not a 404. */
function knownValues(operation: Operation): KnownValues {
  const { owner, projectId, taskId, apiKeyId, invitationId } = fixtures;
  const idOf: [string, string][] = [
    ['/v1/projects', projectId],
    ['/v1/tasks', taskId],
    ['/v1/api-keys', apiKeyId],
    ['/v1/invitations', invitationId],
    ['/v1/admin/tenants', owner.tenantId],
  ];
  const values: Record<string, unknown> = {
    id: idOf.find(([prefix]) => operation.path.startsWith(prefix))?.[1],
    userId: owner.userId,
    assigneeId: owner.userId,
    projectId,
    tenantId: owner.tenantId,
    key: operation.path.startsWith('/v1/admin/flags') ? 'fuzz_flag' : operation.path.startsWith('/v1/flags') ? 'recall_strategy' : 'fuzz_metric',
    plan: 'enterprise',
    tenant: owner.slug,
    confirm: 'not-the-slug',
    metric: 'storage_bytes',
    scopes: ['metering:write'],
    timeZone: 'Europe/Paris',
    expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
    from: new Date(Date.now() - 2 * 86_400_000).toISOString(),
    to: new Date().toISOString(),
  };
  return { valueFor: (name: string) => values[name] };
}

function credentialFor(operation: Operation, security: unknown[] | undefined): Record<string, string> {
  if (operation.path.startsWith('/v1/admin/')) return bearer(ADMIN_TOKEN);
  // No security, or an empty alternative in it: the route is public; send no credential.
  const isPublic = !security || security.some((alternative) => Object.keys(alternative as object).length === 0);
  return isPublic ? {} : bearer(fixtures.owner.accessToken);
}

/** Why a response breaks the contract; empty when it keeps it. */
function breaches(fuzzCase: FuzzCase, response: LightMyRequestResponse, operation: Operation | undefined): string[] {
  const status = response.statusCode;
  const found: string[] = operation ? undeclared(operation, response) : [];
  if (status >= 500) found.push(`answered ${status}: ${response.body.slice(0, 200)}`);
  if (fuzzCase.mustRefuse && status < 400) found.push(`accepted a request it must refuse (${status})`);
  if (status >= 400) {
    const contentType = String(response.headers['content-type']);
    if (!contentType.startsWith('application/problem+json')) found.push(`error ${status} as ${contentType}`);
    let body: Record<string, unknown> = {};
    try {
      body = response.json();
    } catch {
      found.push(`error ${status} with a body that is not JSON`);
    }
    if (typeof body.type !== 'string' || typeof body.title !== 'string' || body.status !== status) {
      found.push(`error ${status} without type, title and status: ${response.body.slice(0, 200)}`);
    }
  }
  return found.map((breach) => `${fuzzCase.label}: ${breach}`);
}

/** Sends the cases in order; a refused mutation must leave every written table as it was. */
async function run(cases: FuzzCase[], operation?: Operation): Promise<string[]> {
  const failures: string[] = [];
  for (const fuzzCase of cases) {
    const { method, url, headers, payload } = fuzzCase;
    const response = await testApp.app.inject({ method: method as 'GET', url, headers, ...(payload === undefined ? {} : { payload }) });
    // A method the path does not have is no operation of the document: only the generic checks apply.
    failures.push(...breaches(fuzzCase, response, method === operation?.method && !fuzzCase.otherRoute ? operation : undefined));
    if (!MUTATING.has(method)) continue;
    const now = await dataFingerprint(testApp.database.admin);
    if (response.statusCode >= 400 && !isDeepStrictEqual(now, baseline)) {
      const changed = Object.keys(now).filter((table) => now[table] !== baseline[table]);
      failures.push(`${fuzzCase.label}: refused with ${response.statusCode} but changed ${changed.join(', ')}`);
    }
    baseline = now;
  }
  return failures;
}

/** String leaves of a schema that no format, fixed set or anchored pattern guards. */
function unguardedStrings(schema: JsonSchema | undefined, where: string): string[] {
  if (!schema) return [];
  const nested = [
    ...Object.entries(schema.properties ?? {}).flatMap(([key, property]) => unguardedStrings(property, `${where}.${key}`)),
    ...(schema.anyOf ?? []).flatMap((branch) => unguardedStrings(branch, where)),
    ...unguardedStrings(schema.items, `${where}[]`),
  ];
  const guarded = schema.format || schema.enum || schema.const !== undefined || (schema.pattern?.startsWith('^') && schema.pattern.endsWith('$'));
  return schema.type === 'string' && !guarded ? [where, ...nested] : nested;
}

describe('the OpenAPI document', () => {
  it('publishes operations to fuzz', () => {
    expect(operations.length).toBeGreaterThan(40);
  });

  it('guards every string a request may carry with a format, a fixed set of values or an anchored pattern (Text)', () => {
    const unguarded = operations.flatMap((operation) => [
      ...operation.parameters.flatMap((parameter) => unguardedStrings(parameter.schema, `${operation.method} ${operation.path} ${parameter.in}.${parameter.name}`)),
      ...unguardedStrings(operation.body, `${operation.method} ${operation.path} body`),
    ]);
    expect(unguarded).toEqual([]);
  });
});

describe(`every operation, fuzzed with seed ${SEED}`, () => {
  const random = seededRandom(SEED);
  for (const operation of operations) {
    const security = document.paths[operation.path][operation.method.toLowerCase()].security as unknown[] | undefined;
    it(`${operation.method} ${operation.path} answers malformed requests with a declared 4xx problem+json and writes nothing`, async () => {
      const cases = casesFor(operation, knownValues(operation), credentialFor(operation, security), random);
      expect(await run(cases, operation)).toEqual([]);
    });
  }
});

describe('every path, with a method it does not have', () => {
  const paths = [...new Set(operations.map((operation) => operation.path))];
  it('answers 405 problem+json with Allow, and 404 below it', async () => {
    const cases: FuzzCase[] = paths.flatMap((path) => {
      const url = path.replace(/\{\w+\}/g, '01900000-0000-7000-8000-000000000001');
      const headers = bearer(fixtures.owner.accessToken);
      return [
        { label: `OPTIONS ${path}`, method: 'OPTIONS', url, headers, mustRefuse: true },
        { label: `PROPFIND ${path}`, method: 'PROPFIND', url, headers, mustRefuse: true },
        { label: `GET ${path}/zz-fuzz`, method: 'GET', url: `${url}/zz-fuzz`, headers, mustRefuse: true },
      ];
    });
    expect(await run(cases)).toEqual([]);
  });
});
