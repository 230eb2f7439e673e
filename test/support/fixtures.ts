// Small builders for test scenarios: sign a tenant up over HTTP, sign a user in, and send
// authenticated requests. They use the public API only, like a client would.

import type { FastifyInstance, LightMyRequestResponse } from 'fastify';

export interface SignedUpTenant {
  readonly tenantId: string;
  readonly slug: string;
  readonly userId: string;
  readonly email: string;
  readonly password: string;
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly apiKey: string;
}

let counter = 0;

export function uniqueSlug(prefix = 't'): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 7)}`;
}

export async function signUp(
  app: FastifyInstance,
  overrides: { slug?: string; email?: string; password?: string; subdomain?: string } = {},
): Promise<SignedUpTenant> {
  const slug = overrides.slug ?? uniqueSlug();
  const email = overrides.email ?? `${slug}@example.test`;
  const password = overrides.password ?? 'correct horse battery staple';
  const response = await app.inject({
    method: 'POST',
    url: '/v1/tenants',
    payload: {
      name: `Tenant ${slug}`,
      slug,
      ...(overrides.subdomain ? { subdomain: overrides.subdomain } : {}),
      owner: { email, password, name: 'Owner' },
    },
  });
  if (response.statusCode !== 201) throw new Error(`sign-up failed: ${response.statusCode} ${response.body}`);
  const body = response.json();
  return {
    tenantId: body.tenant.id,
    slug,
    userId: body.owner.id,
    email,
    password,
    accessToken: body.accessToken,
    refreshToken: body.refreshToken,
    apiKey: body.apiKey.key,
  };
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

export async function login(app: FastifyInstance, email: string, password: string, tenant?: string): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password, ...(tenant ? { tenant } : {}) } });
}

export function expectProblem(response: LightMyRequestResponse, status: number, code?: string): Record<string, unknown> {
  if (response.statusCode !== status) {
    throw new Error(`expected ${status}, got ${response.statusCode}: ${response.body}`);
  }
  if (!String(response.headers['content-type']).startsWith('application/problem+json')) {
    throw new Error(`expected application/problem+json, got ${response.headers['content-type']}`);
  }
  const body = response.json();
  if (code && body.type !== `https://tenantry.dev/problems/${code}`) {
    throw new Error(`expected problem ${code}, got ${body.type}`);
  }
  return body;
}

/** The claims of a JWT, read without verifying it: tests inspect what the server signed. */
export function jwtClaims(token: string): Record<string, unknown> {
  const payload = token.split('.')[1];
  if (!payload) throw new Error(`not a JWT: ${token}`);
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
}

/** A problem body without the fields that differ on every request. */
export function problemShape(body: Record<string, unknown>): Record<string, unknown> {
  const { request_id: _requestId, instance: _instance, ...rest } = body;
  return rest;
}
