// Invitations go to the invited address by email, and only a verified owner of that address
// accepts them signed in: an account squatting an address cannot join, and the address's
// owner takes the account back with a password reset.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptInvitation, bearer, expectProblem, invite, login, signUp } from '../support/fixtures.js';
import { proveEmail } from '../support/prove-email.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { mailTo, nthMailTo } from './support/mailbox.js';

let testApp: TestApp;

beforeAll(async () => {
  testApp = await startTestApp();
});

afterAll(async () => {
  await testApp?.close();
});

async function isMember(tenantId: string, email: string): Promise<boolean> {
  const { rows } = await testApp.database.admin.query(
    `SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.tenant_id = $1 AND lower(u.email) = lower($2) AND m.deleted_at IS NULL`,
    [tenantId, email],
  );
  return rows.length > 0;
}

function tokenOf(text: string, path: string): string {
  const match = new RegExp(`${path}\\?token=([A-Za-z0-9_-]+)`).exec(text);
  if (!match) throw new Error(`no ${path} link`);
  return match[1]!;
}

/**
 * Makes a signed-up account's address unproven, like an account made before sign-up needed
 * its link (a squatter's), and mails it a verification link as a resend would.
 */
async function unprove(person: { userId: string; accessToken: string }): Promise<void> {
  await testApp.database.admin.query(`DELETE FROM verified_emails WHERE user_id = $1`, [person.userId]);
  const resent = await testApp.app.inject({ method: 'POST', url: '/v1/me/email/verification', headers: bearer(person.accessToken) });
  expect(resent.statusCode).toBe(202);
}

describe('the invitation email', () => {
  it("mails the invited address a link, branded with the tenant's name, whose token accepts the invitation", async () => {
    const tenant = await signUp(testApp.app);
    const email = `invited-${tenant.slug}@example.test`;
    expect((await invite(testApp.app, tenant.accessToken, email, 'member')).statusCode).toBe(201);
    const mail = await nthMailTo(testApp, email, 1);
    expect(mail.subject).toBe(`You are invited to join Tenant ${tenant.slug}`);
    const accepted = await acceptInvitation(testApp.app, tokenOf(mail.text, '/accept-invitation'), { name: 'Invitee', password: 'a long enough password' });
    expect(accepted.statusCode).toBe(200);
    expect(await isMember(tenant.tenantId, email)).toBe(true);
  });

  it('sends the account created by accepting a verification link of its own', async () => {
    const tenant = await signUp(testApp.app);
    const email = `new-${tenant.slug}@example.test`;
    const { invitationToken } = (await invite(testApp.app, tenant.accessToken, email, 'viewer')).json();
    await acceptInvitation(testApp.app, invitationToken, { name: 'New', password: 'a long enough password' });
    const mails = await mailTo(testApp, email);
    expect(mails.map((mail) => mail.subject)).toEqual([`You are invited to join Tenant ${tenant.slug}`, `Confirm your email address for Tenant ${tenant.slug}`]);
  });
});

describe('accepting signed in', () => {
  it('refuses an account whose address is not verified (403 email-unverified), and adds nobody', async () => {
    const tenant = await signUp(testApp.app);
    const person = await signUp(testApp.app);
    await unprove(person);
    const { invitationToken } = (await invite(testApp.app, tenant.accessToken, person.email, 'member')).json();
    expectProblem(await acceptInvitation(testApp.app, invitationToken, { accessToken: person.accessToken }), 403, 'email-unverified');
    expect(await isMember(tenant.tenantId, person.email)).toBe(false);

    await proveEmail(testApp.app, person.email);
    expect((await acceptInvitation(testApp.app, invitationToken, { accessToken: person.accessToken })).statusCode).toBe(200);
    expect(await isMember(tenant.tenantId, person.email)).toBe(true);
  });

  it("keeps a squatter out, and lets the address's owner take the account back with a reset", async () => {
    const tenant = await signUp(testApp.app);
    const victim = `victim-${tenant.slug}@example.test`;
    const squatter = await signUp(testApp.app, { email: victim, password: 'the squatter password' });
    await unprove(squatter);
    const { invitationToken } = (await invite(testApp.app, tenant.accessToken, victim, 'admin')).json();
    expectProblem(await acceptInvitation(testApp.app, invitationToken, { accessToken: squatter.accessToken }), 403, 'email-unverified');

    // The owner of the mailbox asks for a reset; the link reaches only them.
    await testApp.app.inject({ method: 'POST', url: '/v1/auth/password-reset', payload: { email: victim } });
    const reset = (await mailTo(testApp, victim)).find((mail) => mail.subject.startsWith('Reset your')) ?? (await nthMailTo(testApp, victim, 3));
    const confirmed = await testApp.app.inject({
      method: 'POST',
      url: '/v1/auth/password-reset/confirm',
      payload: { token: tokenOf(reset.text, '/reset-password'), newPassword: 'the owner password' },
    });
    expect(confirmed.statusCode).toBe(204);
    expectProblem(await testApp.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(squatter.accessToken) }), 401);

    const owner = (await login(testApp.app, victim, 'the owner password')).json();
    expect((await acceptInvitation(testApp.app, invitationToken, { accessToken: owner.accessToken })).statusCode).toBe(200);
    expect(await isMember(tenant.tenantId, victim)).toBe(true);
  });
});
