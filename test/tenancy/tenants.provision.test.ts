// POST /v1/tenants asks, and POST /v1/tenants/confirm (the mailed link, with the password)
// creates tenant, owner, membership, first API key and a session in one transaction;
// collisions and failures half-way leave no row behind.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invite, bearer, expectProblem, signUp, uniqueSlug } from '../support/fixtures.js';
import { signUpLinkToken } from '../support/prove-email.js';
import { rowCounts } from '../support/row-counts.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let testApp: TestApp;

beforeAll(async () => {
  testApp = await startTestApp();
});

afterAll(async () => {
  await testApp.close();
});

function signUpRequest(slug: string, overrides: { email?: string; password?: string; subdomain?: string } = {}) {
  return testApp.app.inject({
    method: 'POST',
    url: '/v1/tenants',
    payload: {
      name: `Tenant ${slug}`,
      slug,
      ...(overrides.subdomain ? { subdomain: overrides.subdomain } : {}),
      owner: { email: overrides.email ?? `${slug}@example.test`, password: overrides.password ?? 'correct horse battery staple', name: 'Owner' },
    },
  });
}

function confirm(token: string, password = 'correct horse battery staple') {
  return testApp.app.inject({ method: 'POST', url: '/v1/tenants/confirm', payload: { token, password } });
}

/** Asks to sign up (202) and returns the link's token mailed to the address. */
async function askedFor(slug: string, overrides: { email?: string; password?: string; subdomain?: string } = {}): Promise<string> {
  const asked = await signUpRequest(slug, overrides);
  expect(asked.statusCode).toBe(202);
  return signUpLinkToken(testApp.app, overrides.email ?? `${slug}@example.test`);
}

describe('a successful sign-up', () => {
  it('answers 202 and creates nothing until the mailed link is followed', async () => {
    const slug = uniqueSlug('asked');
    const before = await rowCounts(testApp.database.admin);
    const response = await signUpRequest(slug);
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({ status: 'accepted', detail: expect.any(String) });
    expect(await rowCounts(testApp.database.admin)).toEqual(before);
  });

  it('answers 201 to the followed link with the tenant, its owner, an API key shown once and a token pair', async () => {
    const slug = uniqueSlug('shape');
    const response = await confirm(await askedFor(slug, { subdomain: `${slug}-sub` }));
    expect(response.statusCode).toBe(201);
    const body = response.json();
    expect(body).toEqual({
      tenant: {
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        name: `Tenant ${slug}`,
        slug,
        subdomain: `${slug}-sub`,
        plan: 'free',
        status: 'active',
        createdAt: expect.any(String),
      },
      owner: { id: expect.any(String), email: `${slug}@example.test`, name: 'Owner', status: 'active', createdAt: expect.any(String) },
      apiKey: { id: expect.any(String), name: 'Default key', prefix: expect.any(String), key: expect.stringMatching(/^tnt_[a-z0-9]+_/) },
      accessToken: expect.any(String),
      refreshToken: expect.any(String),
      expiresIn: 900,
      tokenType: 'Bearer',
    });
    expect(body.apiKey.key).toContain(body.apiKey.prefix);
  });

  it('gives an API key that works as a bearer credential for its tenant', async () => {
    const tenant = await signUp(testApp.app);
    const response = await testApp.app.inject({ method: 'GET', url: '/v1/members', headers: bearer(tenant.apiKey) });
    expect(response.statusCode).toBe(200);
    expect(response.json().data).toEqual([expect.objectContaining({ userId: tenant.userId, role: 'owner' })]);
  });

  it('gives an access token scoped to the new tenant', async () => {
    const tenant = await signUp(testApp.app);
    const response = await testApp.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(tenant.accessToken) });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ activeTenantId: tenant.tenantId, memberships: [{ tenantId: tenant.tenantId, role: 'owner' }] });
  });
  it('stores the owner password as an argon2id hash, never as given', async () => {
    const tenant = await signUp(testApp.app);
    const { rows } = await testApp.database.admin.query('SELECT password_hash FROM users WHERE id = $1', [tenant.userId]);
    expect(rows[0].password_hash).toMatch(/^\$argon2id\$/);
    expect(rows[0].password_hash).not.toContain(tenant.password);
  });
});

describe('a taken slug or subdomain', () => {
  it('returns 409 slug-taken and leaves nothing behind when the slug is taken', async () => {
    const first = await signUp(testApp.app);
    const before = await rowCounts(testApp.database.admin);
    const response = await signUpRequest(first.slug, { email: `other-${first.slug}@example.test` });
    expectProblem(response, 409, 'slug-taken');
    expect(await rowCounts(testApp.database.admin)).toEqual(before);
  });

  it('returns 409 subdomain-taken and leaves nothing behind when the subdomain is taken', async () => {
    const subdomain = uniqueSlug('sub');
    await signUp(testApp.app, { subdomain });
    const before = await rowCounts(testApp.database.admin);
    const response = await signUpRequest(uniqueSlug(), { subdomain });
    expectProblem(response, 409, 'subdomain-taken');
    expect(await rowCounts(testApp.database.admin)).toEqual(before);
  });

  it('gives exactly one 201 and nine 409s to ten sign-up links for one slug followed at once', async () => {
    const slug = uniqueSlug('race');
    const tokens: string[] = [];
    for (let i = 0; i < 10; i++) tokens.push(await askedFor(slug, { email: `racer-${i}-${slug}@example.test` }));
    const before = await rowCounts(testApp.database.admin);
    const responses = await Promise.all(tokens.map((token) => confirm(token)));
    const statuses = responses.map((r) => r.statusCode).sort();
    expect(statuses).toEqual([201, ...Array(9).fill(409)]);
    for (const response of responses.filter((r) => r.statusCode === 409)) expectProblem(response, 409, 'slug-taken');
    const after = await rowCounts(testApp.database.admin);
    expect(after).toMatchObject({
      tenants: before.tenants + 1,
      users: before.users + 1,
      memberships: before.memberships + 1,
      api_keys: before.api_keys + 1,
    });
  });
});

describe('a failure half-way through', () => {
  for (const table of ['api_keys', 'sessions']) {
    it(`answers 500 problem+json and leaves no tenant, user, membership or key when inserting into ${table} fails`, async () => {
      const admin = testApp.database.admin;
      await admin.query(`CREATE FUNCTION fail_insert() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'injected failure'; END $$`);
      await admin.query(`CREATE TRIGGER fail_insert BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION fail_insert()`);
      try {
        const slug = uniqueSlug('atomic');
        const token = await askedFor(slug);
        const before = await rowCounts(admin);
        const response = await confirm(token);
        const problem = expectProblem(response, 500, 'internal');
        expect(JSON.stringify(problem)).not.toContain('injected failure');
        expect(await rowCounts(admin)).toEqual(before);
        const leftovers = await admin.query('SELECT 1 FROM tenants WHERE slug = $1 UNION ALL SELECT 1 FROM users WHERE email = $2', [
          slug,
          `${slug}@example.test`,
        ]);
        expect(leftovers.rows).toEqual([]);
      } finally {
        await admin.query(`DROP TRIGGER fail_insert ON ${table}; DROP FUNCTION fail_insert()`);
      }
    });
  }
});

describe('an existing user founding another tenant', () => {
  it('links the existing user as owner when the password is right', async () => {
    const first = await signUp(testApp.app);
    const second = await signUp(testApp.app, { email: first.email, password: first.password });
    expect(second.userId).toBe(first.userId);
    const users = await testApp.database.admin.query('SELECT id FROM users WHERE lower(email) = lower($1)', [first.email]);
    expect(users.rows).toHaveLength(1);
    const memberships = await testApp.database.admin.query('SELECT tenant_id, role FROM memberships WHERE user_id = $1 ORDER BY created_at', [
      first.userId,
    ]);
    expect(memberships.rows).toEqual([
      { tenant_id: first.tenantId, role: 'owner' },
      { tenant_id: second.tenantId, role: 'owner' },
    ]);
  });

  it('matches the email case-insensitively', async () => {
    const first = await signUp(testApp.app);
    const second = await signUp(testApp.app, { email: first.email.toUpperCase(), password: first.password });
    expect(second.userId).toBe(first.userId);
  });

  it("needs the account's password to follow the link: the one given at sign-up does not count, and nothing is created", async () => {
    const first = await signUp(testApp.app);
    const token = await askedFor(uniqueSlug(), { email: first.email, password: 'not the right password' });
    const before = await rowCounts(testApp.database.admin);
    expectProblem(await confirm(token, 'not the right password'), 401, 'invalid-credentials');
    expect(await rowCounts(testApp.database.admin)).toEqual(before);
    // A wrong password leaves the link usable by the account's holder.
    expect((await confirm(token, first.password)).statusCode).toBe(201);
  });
  it('treats an email with a pending invitation like any other: the invitation created no account', async () => {
    const inviter = await signUp(testApp.app);
    const email = `${uniqueSlug('invited')}@example.test`;
    const invited = await invite(testApp.app, inviter.accessToken, email, 'member');
    expect(invited.statusCode).toBe(201);
    const response = await confirm(await askedFor(uniqueSlug(), { email, password: 'chosen by someone' }), 'chosen by someone');
    expect(response.statusCode).toBe(201);
    // Signing up is not joining the inviting tenant.
    const { rows } = await testApp.database.admin.query('SELECT count(*)::int AS n FROM memberships WHERE tenant_id = $1', [inviter.tenantId]);
    expect(rows[0].n).toBe(1);
  });
});

describe('slug validation', () => {
  for (const slug of ['www', 'api', 'admin']) {
    it(`returns 400 for the reserved slug "${slug}"`, async () => {
      const before = await rowCounts(testApp.database.admin);
      const problem = expectProblem(await signUpRequest(slug, { email: `reserved-${slug}@example.test` }), 400, 'validation-failed');
      expect(problem.detail).toContain('reserved');
      expect(await rowCounts(testApp.database.admin)).toEqual(before);
    });
  }

  it('returns 400 for a reserved subdomain', async () => {
    expectProblem(await signUpRequest(uniqueSlug(), { subdomain: 'www' }), 400, 'validation-failed');
  });

  const malformed: Record<string, string> = {
    'too short': 'ab',
    'too long': 'a'.repeat(64),
    uppercase: 'Acme-Corp',
    'a space': 'acme corp',
    'an underscore': 'acme_corp',
    'a leading hyphen': '-acme',
    'a trailing hyphen': 'acme-',
    'a double hyphen': 'acme--corp',
    'a non-ASCII letter': 'acmé-corp',
  };
  for (const [what, slug] of Object.entries(malformed)) {
    it(`returns 400 for a slug with ${what}`, async () => {
      const before = await rowCounts(testApp.database.admin);
      const response = await signUpRequest(slug, { email: `${uniqueSlug('bad')}@example.test` });
      const problem = expectProblem(response, 400, 'validation-failed');
      expect(problem).toMatchObject({ title: expect.any(String), status: 400, detail: expect.any(String) });
      expect(await rowCounts(testApp.database.admin)).toEqual(before);
    });
  }
});

describe('closed sign-up', () => {
  it('returns 403 signup-disabled when TENANTRY_OPEN_SIGNUP is false', async () => {
    const closed = await startTestApp({ TENANTRY_OPEN_SIGNUP: 'false' });
    try {
      const response = await closed.app.inject({
        method: 'POST',
        url: '/v1/tenants',
        payload: { name: 'Closed', slug: uniqueSlug(), owner: { email: 'closed@example.test', password: 'correct horse battery staple', name: 'O' } },
      });
      expectProblem(response, 403, 'signup-disabled');
      expect(await rowCounts(closed.database.admin)).toMatchObject({ tenants: 0, users: 0 });
    } finally {
      await closed.close();
    }
  });
});
