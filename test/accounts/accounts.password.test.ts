// Changing a password (signed in, current password required, other sessions signed out) and
// resetting a forgotten one (a link by email: hashed, single use, expiring; the same answer
// whether or not the address has an account).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

function changePassword(accessToken: string, currentPassword: string, newPassword: string) {
  return testApp.app.inject({ method: 'POST', url: '/v1/me/password', headers: bearer(accessToken), payload: { currentPassword, newPassword } });
}

function refresh(refreshToken: string) {
  return testApp.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken } });
}

function askReset(email: string) {
  return testApp.app.inject({ method: 'POST', url: '/v1/auth/password-reset', payload: { email } });
}

function confirmReset(token: string, newPassword: string) {
  return testApp.app.inject({ method: 'POST', url: '/v1/auth/password-reset/confirm', payload: { token, newPassword } });
}

async function passwordHash(userId: string): Promise<string> {
  const { rows } = await testApp.database.admin.query(`SELECT password_hash FROM users WHERE id = $1`, [userId]);
  return rows[0].password_hash;
}

async function auditOf(tenant: SignedUpTenant, action: string) {
  const { rows } = await testApp.database.admin.query(`SELECT actor, target, before, after, row_to_json(a)::text AS raw FROM audit_log a WHERE tenant_id = $1 AND action = $2`, [tenant.tenantId, action]);
  return rows;
}

describe('changing the password', () => {
  it('refuses a wrong current password and changes nothing', async () => {
    const tenant = await signUp(testApp.app);
    const before = await passwordHash(tenant.userId);
    expectProblem(await changePassword(tenant.accessToken, 'not my password', 'a brand new password'), 401, 'invalid-credentials');
    expect(await passwordHash(tenant.userId)).toBe(before);
    expect((await refresh(tenant.refreshToken)).statusCode).toBe(200);
  });

  it('sets the new password, signs the other sessions out and keeps this one', async () => {
    const tenant = await signUp(testApp.app);
    const elsewhere = (await login(testApp.app, tenant.email, tenant.password)).json();
    const response = await changePassword(tenant.accessToken, tenant.password, 'a brand new password');
    expect(response.statusCode).toBe(204);

    expectProblem(await refresh(elsewhere.refreshToken), 401);
    expectProblem(await testApp.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(elsewhere.accessToken) }), 401);
    expect((await refresh(tenant.refreshToken)).statusCode).toBe(200);
    expectProblem(await login(testApp.app, tenant.email, tenant.password), 401);
    expect((await login(testApp.app, tenant.email, 'a brand new password')).statusCode).toBe(200);
  });

  it('records the change in the audit log, without the password or its hash', async () => {
    const tenant = await signUp(testApp.app);
    await changePassword(tenant.accessToken, tenant.password, 'another new password');
    const rows = await auditOf(tenant, 'user.password_changed');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor: `user:${tenant.userId}`, target: `user:${tenant.userId}`, before: null, after: null });
    expect(rows[0].raw).not.toContain('another new password');
    expect(rows[0].raw).not.toContain('$argon2');
  });

  it('answers 400 to a new password that is too short, and changes nothing', async () => {
    const tenant = await signUp(testApp.app);
    const before = await passwordHash(tenant.userId);
    expectProblem(await changePassword(tenant.accessToken, tenant.password, 'short'), 400, 'validation-failed');
    expect(await passwordHash(tenant.userId)).toBe(before);
  });

  it('is refused to an API key and to no credential', async () => {
    const tenant = await signUp(testApp.app);
    expectProblem(await changePassword(tenant.apiKey, tenant.password, 'a brand new password'), 403);
    expectProblem(await testApp.app.inject({ method: 'POST', url: '/v1/me/password', payload: { currentPassword: 'x', newPassword: 'yyyyyyyyyyyy' } }), 401);
  });
});

describe('resetting a forgotten password', () => {
  it('answers the same for an address with and without an account, and mails only the account', async () => {
    const tenant = await signUp(testApp.app);
    const known = await askReset(tenant.email);
    const unknown = await askReset(`nobody-${tenant.email}`);
    expect(known.statusCode).toBe(202);
    expect(unknown.statusCode).toBe(202);
    expect(known.json()).toEqual(unknown.json());
    const mail = await nthMailTo(testApp, tenant.email, 2);
    expect(mail.subject).toContain('Reset your');
    expect(await mailTo(testApp, `nobody-${tenant.email}`)).toEqual([]);
  });

  it('sets the new password with the link, once, and signs every session out', async () => {
    const tenant = await signUp(testApp.app);
    await askReset(tenant.email);
    const token = linkToken(await nthMailTo(testApp, tenant.email, 2), '/reset-password');
    expect((await confirmReset(token, 'a reset password 1')).statusCode).toBe(204);

    expectProblem(await refresh(tenant.refreshToken), 401);
    expectProblem(await login(testApp.app, tenant.email, tenant.password), 401);
    expect((await login(testApp.app, tenant.email, 'a reset password 1')).statusCode).toBe(200);
    expectProblem(await confirmReset(token, 'a reset password 2'), 401, 'invalid-credentials');
    expect((await login(testApp.app, tenant.email, 'a reset password 1')).statusCode).toBe(200);
    expect(await auditOf(tenant, 'user.password_reset')).toHaveLength(1);
  });

  it('proves the address: the link reached its mailbox', async () => {
    const tenant = await signUp(testApp.app);
    await askReset(tenant.email);
    await confirmReset(linkToken(await nthMailTo(testApp, tenant.email, 2), '/reset-password'), 'a reset password 1');
    const session = (await login(testApp.app, tenant.email, 'a reset password 1')).json();
    expect((await testApp.app.inject({ method: 'GET', url: '/v1/me/email', headers: bearer(session.accessToken) })).json().verified).toBe(true);
  });

  it('refuses an expired link', async () => {
    const tenant = await signUp(testApp.app);
    await askReset(tenant.email);
    const token = linkToken(await nthMailTo(testApp, tenant.email, 2), '/reset-password');
    testApp.clock.advance(61 * 60);
    try {
      expectProblem(await confirmReset(token, 'a reset password 1'), 401, 'invalid-credentials');
    } finally {
      testApp.clock.advance(-61 * 60);
    }
    expect((await login(testApp.app, tenant.email, tenant.password)).statusCode).toBe(200);
  });

  it('answers 400 to a malformed request', async () => {
    expectProblem(await askReset('not-an-address'), 400, 'validation-failed');
    expectProblem(await confirmReset('pr_x', 'short'), 400, 'validation-failed');
  });
});

describe('the reset throttle', () => {
  it('answers 429 past ten requests a minute for one address, for accounts and strangers alike', async () => {
    const throttled = await startTestApp({ TENANTRY_RATE_LIMITS: 'true' });
    try {
      const ask = (email: string) => throttled.app.inject({ method: 'POST', url: '/v1/auth/password-reset', payload: { email } });
      for (let i = 0; i < 10; i += 1) expect((await ask('someone@example.test')).statusCode).toBe(202);
      expectProblem(await ask('someone@example.test'), 429, 'sign-in-throttled');
    } finally {
      await throttled.close();
    }
  });
});
