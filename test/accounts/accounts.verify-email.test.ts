// Proving an email address: the sign-up link proves it, a verification link (resent on
// request) proves it again, and changing the address needs a link to the new one.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/auth/opaque-tokens.js';
import { bearer, expectProblem, login, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { linkToken, mailTo, nthMailTo } from './support/mailbox.js';

let testApp: TestApp;

beforeAll(async () => {
  testApp = await startTestApp();
});

afterAll(async () => {
  await testApp?.close();
});

function verify(token: string) {
  return testApp.app.inject({ method: 'POST', url: '/v1/auth/verify-email', payload: { token } });
}

function emailStatus(tenant: SignedUpTenant) {
  return testApp.app.inject({ method: 'GET', url: '/v1/me/email', headers: bearer(tenant.accessToken) });
}

function changeEmail(tenant: SignedUpTenant, email: string, currentPassword = tenant.password) {
  return testApp.app.inject({ method: 'POST', url: '/v1/me/email', headers: bearer(tenant.accessToken), payload: { email, currentPassword } });
}

function resend(tenant: SignedUpTenant) {
  return testApp.app.inject({ method: 'POST', url: '/v1/me/email/verification', headers: bearer(tenant.accessToken) });
}

/** A signed-up owner whose address is unproven again (like an account from before sign-up links), with a verification link mailed. */
async function unprovenOwner(): Promise<{ tenant: SignedUpTenant; mail: Awaited<ReturnType<typeof nthMailTo>> }> {
  const tenant = await signUp(testApp.app);
  await testApp.database.admin.query(`DELETE FROM verified_emails WHERE user_id = $1`, [tenant.userId]);
  expect((await resend(tenant)).statusCode).toBe(202);
  // The first message was the sign-up link.
  return { tenant, mail: await nthMailTo(testApp, tenant.email, 2) };
}

describe('verification', () => {
  it('is done by following the sign-up link: a signed-up owner is proven', async () => {
    const tenant = await signUp(testApp.app);
    expect((await emailStatus(tenant)).json()).toEqual({ email: tenant.email, verified: true });
  });

  it("mails a link branded with the tenant's name, and following it proves the address", async () => {
    const { tenant, mail } = await unprovenOwner();
    expect((await emailStatus(tenant)).json()).toEqual({ email: tenant.email, verified: false });
    expect(mail.subject).toBe(`Confirm your email address for Tenant ${tenant.slug}`);
    expect(mail.html).toContain(`Tenant ${tenant.slug}`);

    const response = await verify(linkToken(mail, '/verify-email'));
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ email: tenant.email, verified: true, changed: false });
    expect((await emailStatus(tenant)).json()).toEqual({ email: tenant.email, verified: true });
  });

  it('keeps only the hash of the token', async () => {
    const { tenant, mail } = await unprovenOwner();
    const token = linkToken(mail, '/verify-email');
    const { rows } = await testApp.database.admin.query(`SELECT token_hash FROM account_tokens WHERE user_id = $1`, [tenant.userId]);
    expect(rows).toHaveLength(1);
    expect(Buffer.compare(rows[0].token_hash, sha256(token))).toBe(0);
    const { rows: found } = await testApp.database.admin.query(`SELECT count(*)::int AS n FROM account_tokens WHERE encode(token_hash, 'escape') LIKE '%' || $1 || '%'`, [token]);
    expect(found[0].n).toBe(0);
  });

  it('accepts a link once', async () => {
    const { mail } = await unprovenOwner();
    const token = linkToken(mail, '/verify-email');
    expect((await verify(token)).statusCode).toBe(200);
    expectProblem(await verify(token), 401, 'invalid-credentials');
  });

  it('refuses an expired link and leaves the address unproven', async () => {
    const { tenant, mail } = await unprovenOwner();
    const token = linkToken(mail, '/verify-email');
    testApp.clock.advance(49 * 3600);
    try {
      expectProblem(await verify(token), 401, 'invalid-credentials');
    } finally {
      testApp.clock.advance(-49 * 3600);
    }
    expect((await emailStatus(tenant)).json().verified).toBe(false);
  });

  it('answers 401 to an unknown token and 400 to a malformed body', async () => {
    expectProblem(await verify('ve_not-a-real-token'), 401, 'invalid-credentials');
    expectProblem(await testApp.app.inject({ method: 'POST', url: '/v1/auth/verify-email', payload: {} }), 400, 'validation-failed');
    expectProblem(await testApp.app.inject({ method: 'POST', url: '/v1/auth/verify-email', payload: { token: 'x', extra: 1 } }), 400, 'validation-failed');
  });
});

describe('resending the link', () => {
  it('sends a new link while the address is unproven, and none once it is proven', async () => {
    const { tenant } = await unprovenOwner();
    expect((await resend(tenant)).statusCode).toBe(202);
    const third = await nthMailTo(testApp, tenant.email, 3);
    expect((await verify(linkToken(third, '/verify-email'))).statusCode).toBe(200);
    expect((await resend(tenant)).statusCode).toBe(202);
    expect(await mailTo(testApp, tenant.email)).toHaveLength(3);
  });

  it('is for signed-in people only', async () => {
    const tenant = await signUp(testApp.app);
    expectProblem(await testApp.app.inject({ method: 'POST', url: '/v1/me/email/verification' }), 401);
    expectProblem(await testApp.app.inject({ method: 'POST', url: '/v1/me/email/verification', headers: bearer(tenant.apiKey) }), 403);
  });
});

describe('changing the address', () => {
  it('needs the current password, and changes nothing when it is wrong', async () => {
    const tenant = await signUp(testApp.app);
    expectProblem(await changeEmail(tenant, `new-${tenant.email}`, 'wrong password!'), 401, 'invalid-credentials');
    expect(await mailTo(testApp, `new-${tenant.email}`)).toEqual([]);
  });

  it('changes the address when the link sent to the new one is followed, and records it', async () => {
    const tenant = await signUp(testApp.app);
    const newEmail = `moved-${tenant.email}`;
    const asked = await changeEmail(tenant, newEmail);
    expect(asked.statusCode).toBe(202);
    expect((await emailStatus(tenant)).json().email).toBe(tenant.email);

    const response = await verify(linkToken(await nthMailTo(testApp, newEmail, 1), '/verify-email'));
    expect(response.json()).toEqual({ email: newEmail, verified: true, changed: true });
    expect((await emailStatus(tenant)).json()).toEqual({ email: newEmail, verified: true });
    expect((await login(testApp.app, newEmail, tenant.password)).statusCode).toBe(200);
    expectProblem(await login(testApp.app, tenant.email, tenant.password), 401);

    const { rows } = await testApp.database.admin.query(`SELECT actor, action, target, before, after FROM audit_log WHERE tenant_id = $1 AND action = 'user.email_changed'`, [tenant.tenantId]);
    expect(rows).toEqual([{ actor: `user:${tenant.userId}`, action: 'user.email_changed', target: `user:${tenant.userId}`, before: null, after: null }]);
  });

  it('answers the same for a taken address, and refuses the change only to the link holder', async () => {
    const tenant = await signUp(testApp.app);
    const other = await signUp(testApp.app);
    const asked = await changeEmail(tenant, other.email);
    const free = await changeEmail(tenant, `free-${tenant.email}`);
    expect(asked.statusCode).toBe(202);
    expect(asked.json()).toEqual(free.json());
    const mails = await mailTo(testApp, other.email);
    expectProblem(await verify(linkToken(mails.at(-1)!, '/verify-email')), 409, 'conflict');
    expect((await emailStatus(tenant)).json().email).toBe(tenant.email);
  });

  it('answers 400 to a malformed address', async () => {
    const tenant = await signUp(testApp.app);
    expectProblem(await changeEmail(tenant, 'not-an-address'), 400, 'validation-failed');
  });
});
