// Every security-relevant event leaves an audit row in the tenant it concerns, and no audit
// row holds a secret: no token, key, password or hash.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { networkOf } from '../../src/accounts/devices/device-fingerprint.js';
import { addExistingMember, bearer, invite, login, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let testApp: TestApp;

beforeAll(async () => {
  testApp = await startTestApp();
});

afterAll(async () => {
  await testApp?.close();
});

interface AuditRow {
  actor: string;
  action: string;
  target: string;
  before: unknown;
  after: unknown;
  raw: string;
}

async function audit(tenant: SignedUpTenant, action: string): Promise<AuditRow[]> {
  const { rows } = await testApp.database.admin.query(
    `SELECT actor, action, target, before, after, row_to_json(a)::text AS raw FROM audit_log a WHERE tenant_id = $1 AND action = $2 ORDER BY created_at, id`,
    [tenant.tenantId, action],
  );
  return rows;
}

function loginFrom(email: string, password: string, userAgent: string, address: string) {
  return testApp.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password }, headers: { 'user-agent': userAgent }, remoteAddress: address });
}

const FIREFOX_LINUX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const CHROME_MAC = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';

describe('audit of members and invitations', () => {
  it('records an invitation sent, accepted and withdrawn, a role change and a removal', async () => {
    const tenant = await signUp(testApp.app);
    const person = await signUp(testApp.app);
    await addExistingMember(testApp.app, tenant.accessToken, person, 'member');
    const withdrawn = (await invite(testApp.app, tenant.accessToken, `gone-${tenant.email}`, 'viewer')).json();
    await testApp.app.inject({ method: 'DELETE', url: `/v1/invitations/${withdrawn.invitationId}`, headers: bearer(tenant.accessToken) });
    await testApp.app.inject({ method: 'PATCH', url: `/v1/members/${person.userId}`, headers: bearer(tenant.accessToken), payload: { role: 'admin' } });
    await testApp.app.inject({ method: 'DELETE', url: `/v1/members/${person.userId}`, headers: bearer(tenant.accessToken) });

    const owner = `user:${tenant.userId}`;
    expect(await audit(tenant, 'invitation.sent')).toHaveLength(2);
    expect((await audit(tenant, 'invitation.sent'))[0]).toMatchObject({ actor: owner, after: { role: 'member' } });
    expect(await audit(tenant, 'invitation.accepted')).toEqual([expect.objectContaining({ actor: `user:${person.userId}`, after: { role: 'member' } })]);
    expect(await audit(tenant, 'invitation.withdrawn')).toEqual([expect.objectContaining({ actor: owner, target: `invitation:${withdrawn.invitationId}` })]);
    expect(await audit(tenant, 'member.role_changed')).toEqual([
      expect.objectContaining({ actor: owner, target: `user:${person.userId}`, before: { role: 'member' }, after: { role: 'admin' } }),
    ]);
    expect(await audit(tenant, 'member.removed')).toEqual([expect.objectContaining({ actor: owner, target: `user:${person.userId}`, before: { role: 'admin' } })]);
    for (const row of await audit(tenant, 'invitation.sent')) expect(row.raw).not.toContain('inv_');
  });
});

describe('audit of API keys', () => {
  it('records a key created and revoked, without its secret or hash', async () => {
    const tenant = await signUp(testApp.app);
    const created = await testApp.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(tenant.accessToken), payload: { name: 'ci', role: 'member' } });
    expect(created.statusCode).toBe(201);
    const { id, key } = created.json();
    await testApp.app.inject({ method: 'DELETE', url: `/v1/api-keys/${id}`, headers: bearer(tenant.accessToken) });

    const [made] = await audit(tenant, 'api_key.created');
    expect(made).toMatchObject({ actor: `user:${tenant.userId}`, target: `api_key:${id}`, after: { name: 'ci', role: 'member' } });
    expect(await audit(tenant, 'api_key.revoked')).toEqual([expect.objectContaining({ target: `api_key:${id}` })]);
    const secret = String(key).split('_').at(-1)!;
    for (const row of [...(await audit(tenant, 'api_key.created')), ...(await audit(tenant, 'api_key.revoked'))]) {
      expect(row.raw).not.toContain(secret);
      expect(row.raw).not.toContain('secret_hash');
    }
  });
});

describe('audit of sign-ins from a new device', () => {
  it('records the first sign-in from a browser, system or network, and not a repeat', async () => {
    const tenant = await signUp(testApp.app);
    expect((await loginFrom(tenant.email, tenant.password, FIREFOX_LINUX, '203.0.113.10')).statusCode).toBe(200);
    expect((await loginFrom(tenant.email, tenant.password, FIREFOX_LINUX, '203.0.113.99')).statusCode).toBe(200);
    expect(await audit(tenant, 'user.signed_in_new_device')).toEqual([expect.objectContaining({ after: { device: 'Firefox on Linux' } })]);

    await loginFrom(tenant.email, tenant.password, FIREFOX_LINUX, '198.51.100.7');
    await loginFrom(tenant.email, tenant.password, CHROME_MAC, '198.51.100.7');
    const rows = await audit(tenant, 'user.signed_in_new_device');
    expect(rows.map((row) => row.after)).toEqual([{ device: 'Firefox on Linux' }, { device: 'Firefox on Linux' }, { device: 'Chrome on macOS' }]);
    for (const row of rows) {
      expect(row.raw).not.toContain('203.0.113');
      expect(row.raw).not.toContain('198.51.100');
    }
  });

  it('records nothing for a failed sign-in', async () => {
    const tenant = await signUp(testApp.app);
    expect((await loginFrom(tenant.email, 'wrong password', CHROME_MAC, '192.0.2.1')).statusCode).toBe(401);
    expect(await audit(tenant, 'user.signed_in_new_device')).toEqual([]);
    expect((await login(testApp.app, tenant.email, tenant.password)).statusCode).toBe(200);
  });

  it('groups addresses by network: IPv4 /24, IPv6 /48', () => {
    expect(networkOf('203.0.113.77')).toBe('203.0.113.0/24');
    expect(networkOf('::ffff:203.0.113.77')).toBe('203.0.113.0/24');
    expect(networkOf('2001:db8:abcd:12::1')).toBe('2001:0db8:abcd::/48');
    expect(networkOf('2001:db8::1')).toBe('2001:0db8:0000::/48');
  });
});
