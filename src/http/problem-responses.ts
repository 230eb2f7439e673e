// The error answers of every route, for its schema and so for /openapi.json: what the request
// edge can refuse (input, credentials, tenant, plan gate, rate limit, database faults) is derived
// here from the route's declaration, merged with what the route declares, as problem+json.

import { STATUS_CODES } from 'node:http';
import type { FastifyInstance, RouteOptions } from 'fastify';
import type { Access } from './access.js';
import { PROBLEM_CODES_KEY, Problem } from './common-schemas.js';
import { PROBLEMS, type ProblemCode } from './problems.js';

export const PROBLEM_SCHEMA_ID = 'Problem';
export const PROBLEM_MEDIA_TYPE = 'application/problem+json';

const RETRY_AFTER = { 'Retry-After': { type: 'integer', description: 'Seconds to wait before retrying' } };
const BEARER_CHALLENGE = { 'WWW-Authenticate': { type: 'string', description: 'RFC 6750 challenge: error="invalid_token" when a credential was refused' } };

const CREDENTIAL_REFUSED: ProblemCode[] = ['unauthenticated', 'invalid-credentials', 'token-expired'];

function accessProblems(access: Access | undefined): ProblemCode[] {
  switch (access?.kind ?? 'tenant') {
    case 'public':
      return [];
    case 'user':
      // The per-user rate limit (access.ts) runs once the token is verified.
      return [...CREDENTIAL_REFUSED, 'forbidden', 'user-rate-limited'];
    case 'platform_admin':
      return [...CREDENTIAL_REFUSED, 'forbidden'];
    default:
      // Tenant resolution, membership and the per-tenant rate limit (access.ts, metering); a
      // suspended tenant's writes, refused by PostgreSQL in its read-only units (db/read-only.ts).
      return [...CREDENTIAL_REFUSED, 'forbidden', 'tenant-required', 'tenant-mismatch', 'not-a-member', 'tenant-read-only', 'tenant-not-found', 'rate-limited'];
  }
}

/** The problems a route can answer before or around its handler, from its declaration alone. */
export function edgeProblems(route: Pick<RouteOptions, 'url' | 'schema' | 'config'>): ProblemCode[] {
  const schema = route.schema ?? {};
  const codes: ProblemCode[] = accessProblems(route.config?.access);
  if (route.config?.feature) codes.push('feature-not-in-plan');
  if (schema.body || schema.querystring || schema.params || schema.headers) codes.push('validation-failed');
  if (schema.params) codes.push('uri-too-long');
  if (schema.body) codes.push('malformed-json', 'payload-too-large', 'unsupported-media-type');
  // Liveness consults no database and is never shed, so it never answers 503.
  if (!route.config?.liveness) codes.push('database-unavailable', 'overloaded');
  return codes;
}

function errorResponse(status: number, codes: readonly string[]) {
  const listed = codes.length > 0 ? `: ${codes.map((code) => `\`${code}\``).join(', ')}` : '';
  return {
    description: `${STATUS_CODES[status] ?? 'Error'}${listed}`,
    ...(status === 401 && codes.some((code) => (CREDENTIAL_REFUSED as readonly string[]).includes(code)) ? { headers: BEARER_CHALLENGE } : {}),
    ...(status === 429 || status === 503 ? { headers: RETRY_AFTER } : {}),
    content: { [PROBLEM_MEDIA_TYPE]: { schema: { $ref: `${PROBLEM_SCHEMA_ID}#` } } },
  };
}

/** Every error status of a route: the derived ones and its own, each as problem+json with the codes it can carry. */
function withProblemResponses(route: RouteOptions): void {
  if (!route.schema || route.schema.hide) return;
  const declared = (route.schema.response ?? {}) as Record<string, Record<string, unknown>>;
  const byStatus = new Map<number, Set<string>>();
  const add = (status: number, code?: string) => {
    const codes = byStatus.get(status) ?? new Set<string>();
    if (code) codes.add(code);
    byStatus.set(status, codes);
  };
  for (const code of edgeProblems(route)) add(PROBLEMS[code].status, code);
  const response: Record<string, unknown> = {};
  for (const [status, schema] of Object.entries(declared)) {
    if (Number(status) < 400) response[status] = schema;
    else {
      add(Number(status));
      for (const code of (schema[PROBLEM_CODES_KEY] as string[] | undefined) ?? []) add(Number(status), code);
    }
  }
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) response[status] = errorResponse(status, [...codes]);
  route.schema = { ...route.schema, response };
}

/** Call before any route is registered: the shared Problem schema and the hook that completes every route's responses. */
export function registerProblemResponses(app: FastifyInstance): void {
  app.addSchema({ ...Problem, $id: PROBLEM_SCHEMA_ID, title: 'Problem' });
  app.addHook('onRoute', withProblemResponses);
}
