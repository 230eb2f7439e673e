// Small builders for test scenarios: sign a tenant up over HTTP (asking, then following the
// mailed link), sign a user in, and send authenticated requests. They use the public API only,
// like a client would, and read the local mailbox like its owner would.

import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { UserActor } from '../../src/tenancy/actor.js';
import { proveEmail, signUpLinkToken, type Mailbox } from './prove-email.js';

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

/** The owner of a signed-up tenant as the edge would build them, for calling a use case directly. */
export function ownerActor(tenant: SignedUpTenant, plan = 'free'): UserActor {
  return { kind: 'user', userId: tenant.userId, tenantId: tenant.tenantId, role: 'owner', plan, requestId: `test:${tenant.slug}` };
}

let counter = 0;

export function uniqueSlug(prefix = 't'): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 7)}`;
}

export async function signUp(
  app: FastifyInstance,
  overrides: { slug?: string; email?: string; password?: string; subdomain?: string } = {},
  /** Where the mail lands: the database of the app's startTestApp() unless given (an app built by hand). */
  mailbox?: Mailbox,
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
  if (response.statusCode !== 202) throw new Error(`sign-up failed: ${response.statusCode} ${response.body}`);
  // The owner follows the link mailed to the address, with the password (it creates the tenant).
  const confirmed = await app.inject({ method: 'POST', url: '/v1/tenants/confirm', payload: { token: await signUpLinkToken(app, email, mailbox), password } });
  if (confirmed.statusCode !== 201) throw new Error(`sign-up confirmation failed: ${confirmed.statusCode} ${confirmed.body}`);
  const body = confirmed.json();
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

export type MemberRole = 'owner' | 'admin' | 'member' | 'viewer';

/** POST /v1/members: invites an email into the tenant of `adminToken`. */
export function invite(app: FastifyInstance, adminToken: string, email: string, role: MemberRole): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: '/v1/members', headers: bearer(adminToken), payload: { email, role } });
}

/** POST /v1/auth/accept-invitation, signed in (`accessToken`) or creating the account (`name`, `password`). */
export function acceptInvitation(
  app: FastifyInstance,
  token: string,
  options: { accessToken?: string; name?: string; password?: string } = {},
): Promise<LightMyRequestResponse> {
  const { accessToken, ...profile } = options;
  return app.inject({
    method: 'POST',
    url: '/v1/auth/accept-invitation',
    headers: accessToken ? bearer(accessToken) : {},
    payload: { token, ...profile },
  });
}

/**
 * Adds an existing user to the tenant the way a client must: they prove their address, the
 * admin invites it, they accept signed in. Returns their token pair for that tenant.
 */
export async function addExistingMember(
  app: FastifyInstance,
  adminToken: string,
  person: { email: string; accessToken: string },
  role: MemberRole,
): Promise<{ accessToken: string; refreshToken: string }> {
  // Only a proven address may accept: the person follows the link sent at sign-up first.
  await proveEmail(app, person.email);
  const invited = await invite(app, adminToken, person.email, role);
  if (invited.statusCode !== 201) throw new Error(`invite failed: ${invited.statusCode} ${invited.body}`);
  const accepted = await acceptInvitation(app, invited.json().invitationToken, { accessToken: person.accessToken });
  if (accepted.statusCode !== 200) throw new Error(`accept failed: ${accepted.statusCode} ${accepted.body}`);
  return accepted.json();
}

/** Invites a fresh email into the tenant; the invitee accepts by creating their account. */
export async function addNewMember(
  app: FastifyInstance,
  adminToken: string,
  role: MemberRole,
  overrides: { email?: string; name?: string; password?: string } = {},
): Promise<{ userId: string; email: string; password: string; accessToken: string; refreshToken: string }> {
  const email = overrides.email ?? `${uniqueSlug('member')}@example.test`;
  const password = overrides.password ?? 'invited password 123';
  const invited = await invite(app, adminToken, email, role);
  if (invited.statusCode !== 201) throw new Error(`invite failed: ${invited.statusCode} ${invited.body}`);
  const accepted = await acceptInvitation(app, invited.json().invitationToken, { name: overrides.name ?? 'Invitee', password });
  if (accepted.statusCode !== 200) throw new Error(`accept failed: ${accepted.statusCode} ${accepted.body}`);
  const { accessToken, refreshToken } = accepted.json();
  return { userId: String(jwtClaims(accessToken).sub), email, password, accessToken, refreshToken };
}
