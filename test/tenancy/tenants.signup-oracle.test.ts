// Sign-up is not an account oracle: asking answers the same for an address with an account
// (whatever password is given) and for an unused one, changes no account, and creates nothing;
// each address gets one link, and only the link's holder with the right password creates the
// tenant, so nobody founds a tenant or an account on an address they do not own.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/auth/opaque-tokens.js';
import { bearer, expectProblem, problemShape, signUp, uniqueSlug, type SignedUpTenant } from '../support/fixtures.js';
import { signUpLinkToken } from '../support/prove-email.js';
import { rowCounts } from '../support/row-counts.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let testApp: TestApp;
let existing: SignedUpTenant;

beforeAll(async () => {
  testApp = await startTestApp();
  existing = await signUp(testApp.app);
});

afterAll(async () => {
  await testApp?.close();
});

function ask(email: string, password: string, slug = uniqueSlug('ask')) {
  return testApp.app.inject({ method: 'POST', url: '/v1/tenants', payload: { name: `Tenant ${slug}`, slug, owner: { email, password, name: 'Mallory' } } });
}

function confirm(token: string, password: string) {
  return testApp.app.inject({ method: 'POST', url: '/v1/tenants/confirm', payload: { token, password } });
}

async function accountRow(userId: string) {
  const { rows } = await testApp.database.admin.query(`SELECT email, name, password_hash, status, updated_at FROM users WHERE id = $1`, [userId]);
  return rows[0];
}

async function mailsTo(address: string) {
  const { rows } = await testApp.database.admin.query(`SELECT subject, text_body FROM email_mailbox WHERE lower(recipient) = lower($1) ORDER BY created_at, id`, [address]);
  return rows as Array<{ subject: string; text_body: string }>;
}

describe('asking to sign up', () => {
  it('answers the same for an address with an account (wrong password) and for an unused one', async () => {
    const unused = `${uniqueSlug('unused')}@example.test`;
    const forExisting = await ask(existing.email, 'a guess at the password');
    const forUnused = await ask(unused, 'a guess at the password');
    expect(forExisting.statusCode).toBe(202);
    expect(forUnused.statusCode).toBe(202);
    expect(forExisting.headers['content-type']).toBe(forUnused.headers['content-type']);
    expect(forExisting.json()).toEqual(forUnused.json());
    // With the right password too: asking never signs anyone in.
    const withRight = await ask(existing.email, existing.password);
    expect([withRight.statusCode, withRight.json()]).toEqual([202, forUnused.json()]);
  });

  it("changes no account, and creates no tenant, user, membership, key or session", async () => {
    const before = await accountRow(existing.userId);
    const counts = await rowCounts(testApp.database.admin);
    expect((await ask(existing.email, 'an attacker password')).statusCode).toBe(202);
    expect((await ask(`${uniqueSlug('fresh')}@example.test`, 'an attacker password')).statusCode).toBe(202);
    expect(await accountRow(existing.userId)).toEqual(before);
    expect(await rowCounts(testApp.database.admin)).toEqual(counts);
  });

  it('mails each address one link under the same subject; the holder of an account is told it stays as it is', async () => {
    const person = await signUp(testApp.app);
    const unused = `${uniqueSlug('unused')}@example.test`;
    const slug = uniqueSlug('same');
    const already = (await mailsTo(person.email)).length;
    expect((await ask(person.email, 'whatever password', slug)).statusCode).toBe(202);
    expect((await ask(unused, 'whatever password', slug)).statusCode).toBe(202);
    const [toExisting] = (await mailsTo(person.email)).slice(already);
    const toUnused = await mailsTo(unused);
    expect(toUnused).toHaveLength(1);
    expect(toExisting!.subject).toBe(toUnused[0]!.subject);
    expect(toExisting!.text_body).toContain('You already have an account with this address, and it stays as it is');
    expect(toUnused[0]!.text_body).not.toContain('already have an account');
    for (const mail of [toExisting!, toUnused[0]!]) expect(mail.text_body).toMatch(/\/complete-sign-up\?token=su_/);
  });

  it('answers 409 for a taken slug whatever the address, and 400 for a malformed body', async () => {
    expectProblem(await ask(existing.email, 'whatever password', existing.slug), 409, 'slug-taken');
    expectProblem(await ask(`${uniqueSlug('new')}@example.test`, 'whatever password', existing.slug), 409, 'slug-taken');
    expectProblem(await testApp.app.inject({ method: 'POST', url: '/v1/tenants', payload: { name: 'x', slug: uniqueSlug() } }), 400, 'validation-failed');
  });

  it('keeps the link only as a hash, and the chosen password only as an argon2id hash', async () => {
    const email = `${uniqueSlug('hash')}@example.test`;
    expect((await ask(email, 'a password kept hashed')).statusCode).toBe(202);
    const token = await signUpLinkToken(testApp.app, email);
    const { rows } = await testApp.database.admin.query(`SELECT token_hash, password_hash FROM signup_requests WHERE email = $1`, [email]);
    expect(rows).toHaveLength(1);
    expect(Buffer.compare(rows[0].token_hash, sha256(token))).toBe(0);
    expect(rows[0].password_hash).toMatch(/^\$argon2id\$/);
  });
});

describe('following the link', () => {
  it('creates nothing for a link holder without the password chosen: an address owner cannot be handed an account', async () => {
    const victim = `${uniqueSlug('victim')}@example.test`;
    expect((await ask(victim, 'the attacker chose this')).statusCode).toBe(202);
    const token = await signUpLinkToken(testApp.app, victim);
    const counts = await rowCounts(testApp.database.admin);
    expectProblem(await confirm(token, 'the owner does not know it'), 401, 'invalid-credentials');
    expect(await rowCounts(testApp.database.admin)).toEqual(counts);
  });

  it("founds a tenant for the existing account with its password, leaving the account as it was", async () => {
    const before = await accountRow(existing.userId);
    const slug = uniqueSlug('second');
    expect((await ask(existing.email, 'not the account password', slug)).statusCode).toBe(202);
    const response = await confirm(await signUpLinkToken(testApp.app, existing.email), existing.password);
    expect(response.statusCode).toBe(201);
    expect(response.json()).toMatchObject({ tenant: { slug }, owner: { id: existing.userId, email: existing.email } });
    expect(await accountRow(existing.userId)).toEqual(before);
    const me = await testApp.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(response.json().accessToken) });
    expect(me.json().memberships).toHaveLength(2);
  });

  it("proves a new owner's address, works once, and answers 401 to an unknown or expired link", async () => {
    const email = `${uniqueSlug('once')}@example.test`;
    expect((await ask(email, 'the chosen password')).statusCode).toBe(202);
    const token = await signUpLinkToken(testApp.app, email);
    const created = await confirm(token, 'the chosen password');
    expect(created.statusCode).toBe(201);
    const status = await testApp.app.inject({ method: 'GET', url: '/v1/me/email', headers: bearer(created.json().accessToken) });
    expect(status.json()).toEqual({ email, verified: true });
    const again = expectProblem(await confirm(token, 'the chosen password'), 401, 'invalid-credentials');
    const unknown = expectProblem(await confirm('su_not-a-real-link', 'the chosen password'), 401, 'invalid-credentials');
    expect(problemShape(again)).toEqual(problemShape(unknown));

    const late = `${uniqueSlug('late')}@example.test`;
    expect((await ask(late, 'the chosen password')).statusCode).toBe(202);
    const lateToken = await signUpLinkToken(testApp.app, late);
    testApp.clock.advance(25 * 3600);
    try {
      expectProblem(await confirm(lateToken, 'the chosen password'), 401, 'invalid-credentials');
    } finally {
      testApp.clock.advance(-25 * 3600);
    }
    expectProblem(await testApp.app.inject({ method: 'POST', url: '/v1/tenants/confirm', payload: { token: lateToken } }), 400, 'validation-failed');
  });
});
