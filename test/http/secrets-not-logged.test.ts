// Passwords, tokens and key secrets never reach the logs: not on success, not on the error
// paths that echo input back, at the most verbose level the app has.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptInvitation, invite, bearer, login, signUp, uniqueSlug } from '../support/fixtures.js';
import { proveEmail } from '../support/prove-email.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let testApp: TestApp;

beforeAll(async () => {
  testApp = await startTestApp({ LOG_LEVEL: 'trace' });
});

afterAll(async () => {
  await testApp.close();
});

/** Each secret, and for a token its most secret-bearing part too. */
function forms(secret: string): string[] {
  const parts = [secret];
  if (secret.split('.').length === 3) parts.push(secret.split('.')[2]!); // a JWT's signature
  if (secret.startsWith('tnt_')) parts.push(secret.split('_').slice(2).join('_')); // a key's secret
  return parts;
}

describe('the logs', () => {
  it('hold no password, access token, refresh token, API key secret or invitation token', async () => {
    const app = testApp.app;
    const secrets: string[] = [];
    const keep = (...values: string[]) => secrets.push(...values.flatMap(forms));

    const tenant = await signUp(app, { password: 'sign-up password 0001' });
    keep(tenant.password, tenant.accessToken, tenant.refreshToken, tenant.apiKey);

    const signedIn = (await login(app, tenant.email, tenant.password)).json();
    keep(signedIn.accessToken, signedIn.refreshToken);
    await login(app, tenant.email, 'wrong password 0002');
    keep('wrong password 0002');

    const refreshed = (await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken: signedIn.refreshToken } })).json();
    keep(refreshed.accessToken, refreshed.refreshToken);
    // A replay: the error path, with the token in the body.
    await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken: signedIn.refreshToken } });

    expect((await app.inject({ method: 'GET', url: '/v1/members', headers: bearer(tenant.apiKey) })).statusCode).toBe(200);
    const created = (await app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(tenant.accessToken), payload: { name: 'k' } })).json();
    keep(created.key);
    await app.inject({ method: 'GET', url: '/v1/members', headers: bearer(created.key) });
    await app.inject({ method: 'GET', url: '/v1/members', headers: bearer(created.key.slice(0, -4) + 'AAAA') });

    const invited = (await invite(app, tenant.accessToken, `${uniqueSlug('inv')}@example.test`, 'member')).json();
    keep(invited.invitationToken, 'invitee password 0003');
    const accepted = await acceptInvitation(app, invited.invitationToken, { name: 'Invitee', password: 'invitee password 0003' });
    expect(accepted.statusCode).toBe(200);
    keep(accepted.json().accessToken, accepted.json().refreshToken);
    // Accepting signed in: the bearer token and the invitation token in one request.
    const existing = await signUp(app, { password: 'existing password 0006' });
    keep(existing.password, existing.accessToken, existing.refreshToken, existing.apiKey);
    await proveEmail(app, existing.email);
    const second = (await invite(app, tenant.accessToken, existing.email, 'viewer')).json();
    keep(second.invitationToken);
    const joined = await acceptInvitation(app, second.invitationToken, { accessToken: existing.accessToken });
    expect(joined.statusCode).toBe(200);
    keep(joined.json().accessToken, joined.json().refreshToken);

    // Input that fails parsing or validation, carrying a password.
    await app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: '{"email":"x@example.test","password":"malformed password 0004"',
      headers: { 'content-type': 'application/json' },
    });
    await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'x@example.test', password: 'extra password 0005', extra: 1 } });
    keep('malformed password 0004', 'extra password 0005');

    await app.inject({ method: 'POST', url: '/v1/auth/logout', headers: bearer(refreshed.accessToken), payload: { refreshToken: refreshed.refreshToken } });

    // The account's own security: a password change, a reset link and its new password, the
    // verification links in the mailbox (sign-up, invitation, reset), and the mailed bodies.
    await app.inject({ method: 'POST', url: '/v1/me/password', headers: bearer(existing.accessToken), payload: { currentPassword: existing.password, newPassword: 'changed password 0007' } });
    keep('changed password 0007');
    await app.inject({ method: 'POST', url: '/v1/auth/password-reset', payload: { email: existing.email } });
    const links = async () => {
      await testApp.services.outbox.drain();
      const { rows } = await testApp.database.admin.query(`SELECT text_body FROM email_mailbox`);
      return rows.flatMap((row: { text_body: string }) => [...row.text_body.matchAll(/token=([A-Za-z0-9_-]+)/g)].map((match) => match[1]!));
    };
    let mailed = await links();
    for (let tries = 0; tries < 100 && !(await testApp.database.admin.query(`SELECT 1 FROM email_mailbox WHERE subject LIKE 'Reset your%'`)).rowCount; tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      mailed = await links();
    }
    const resetMail = (await testApp.database.admin.query(`SELECT text_body FROM email_mailbox WHERE subject LIKE 'Reset your%'`)).rows[0].text_body as string;
    const resetToken = /reset-password\?token=([A-Za-z0-9_-]+)/.exec(resetMail)![1]!;
    expect((await app.inject({ method: 'POST', url: '/v1/auth/password-reset/confirm', payload: { token: resetToken, newPassword: 'reset password 0008' } })).statusCode).toBe(204);
    await app.inject({ method: 'POST', url: '/v1/auth/password-reset/confirm', payload: { token: resetToken, newPassword: 'reset password 0009' } });
    keep('reset password 0008', 'reset password 0009', ...mailed);

    const logs = testApp.logs();
    expect(logs).toContain('request completed');
    expect(secrets.length).toBeGreaterThan(15);
    const leaked = secrets.filter((secret) => logs.includes(secret));
    expect(leaked).toEqual([]);
  });
});
