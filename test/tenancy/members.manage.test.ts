// /v1/members: owners and admins invite, re-role and remove members; only owners touch
// owners; the last owner stays; another tenant sees 404, never the row. Invitation
// acceptance and its attacks are in invitations.*.test.ts.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  acceptInvitation,
  addExistingMember,
  bearer,
  expectProblem,
  invite,
  signUp,
  uniqueSlug,
  type SignedUpTenant,
} from '../support/fixtures.js';
import { proveEmail } from '../support/prove-email.js';
import { rowCounts } from '../support/row-counts.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

type Role = 'owner' | 'admin' | 'member' | 'viewer';

let testApp: TestApp;

beforeAll(async () => {
  testApp = await startTestApp();
});

afterAll(async () => {
  await testApp.close();
});

function addMember(token: string, email: string, role: Role) {
  return invite(testApp.app, token, email, role);
}

function changeRole(token: string, userId: string, role: Role) {
  return testApp.app.inject({ method: 'PATCH', url: `/v1/members/${userId}`, headers: bearer(token), payload: { role } });
}

function removeMember(token: string, userId: string) {
  return testApp.app.inject({ method: 'DELETE', url: `/v1/members/${userId}`, headers: bearer(token) });
}

async function membershipRow(tenantId: string, userId: string) {
  const { rows } = await testApp.database.admin.query('SELECT role, deleted_at FROM memberships WHERE tenant_id = $1 AND user_id = $2', [
    tenantId,
    userId,
  ]);
  return rows[0];
}

/** An existing user invited to the tenant with `role`, who accepted signed in: their token there. */
async function joinAs(tenant: SignedUpTenant, role: Role): Promise<{ userId: string; token: string }> {
  const person = await signUp(testApp.app);
  const { accessToken } = await addExistingMember(testApp.app, tenant.accessToken, person, role);
  return { userId: person.userId, token: accessToken };
}

describe('inviting a member', () => {
  it('creates an invitation, not a membership; the member joins when they accept signed in', async () => {
    const tenant = await signUp(testApp.app);
    const person = await signUp(testApp.app);
    await proveEmail(testApp.app, person.email);
    const response = await addMember(tenant.accessToken, person.email, 'member');
    expect(response.statusCode).toBe(201);
    expect(response.json()).toEqual({
      invitationId: expect.any(String),
      email: person.email,
      role: 'member',
      status: 'invited',
      expiresAt: expect.any(String),
      invitationToken: expect.stringMatching(/^inv_/),
    });
    expect(await membershipRow(tenant.tenantId, person.userId)).toBeUndefined();
    const listMembers = async () =>
      (await testApp.app.inject({ method: 'GET', url: '/v1/members', headers: bearer(tenant.accessToken) }))
        .json()
        .data.map((m: { userId: string; role: string }) => [m.userId, m.role]);
    expect(await listMembers()).toEqual([[tenant.userId, 'owner']]);

    const accepted = await acceptInvitation(testApp.app, response.json().invitationToken, { accessToken: person.accessToken });
    expect(accepted.statusCode).toBe(200);
    expect(await listMembers()).toEqual([
      [tenant.userId, 'owner'],
      [person.userId, 'member'],
    ]);
  });

  it('returns 409 when the email is already a member', async () => {
    const tenant = await signUp(testApp.app);
    expectProblem(await addMember(tenant.accessToken, tenant.email, 'member'), 409, 'conflict');
    expectProblem(await addMember(tenant.accessToken, tenant.email.toUpperCase(), 'member'), 409, 'conflict');
    expect(await membershipRow(tenant.tenantId, tenant.userId)).toMatchObject({ role: 'owner' });
  });

  it('returns 409 when the email already has a pending invitation to this tenant', async () => {
    const tenant = await signUp(testApp.app);
    const email = `${uniqueSlug('twice')}@example.test`;
    expect((await addMember(tenant.accessToken, email, 'member')).statusCode).toBe(201);
    expectProblem(await addMember(tenant.accessToken, email.toUpperCase(), 'admin'), 409, 'conflict');
  });

  it('lets two tenants invite the same email independently', async () => {
    const tenantA = await signUp(testApp.app);
    const tenantB = await signUp(testApp.app);
    const email = `${uniqueSlug('both')}@example.test`;
    expect((await addMember(tenantA.accessToken, email, 'member')).statusCode).toBe(201);
    expect((await addMember(tenantB.accessToken, email, 'member')).statusCode).toBe(201);
  });

  for (const role of ['member', 'viewer'] as const) {
    it(`returns 403 when a ${role} adds someone, and writes nothing`, async () => {
      const tenant = await signUp(testApp.app);
      const actor = await joinAs(tenant, role);
      const before = await rowCounts(testApp.database.admin);
      expectProblem(await addMember(actor.token, `${uniqueSlug('nope')}@example.test`, 'viewer'), 403, 'forbidden');
      expect(await rowCounts(testApp.database.admin)).toEqual(before);
    });
  }
});

describe('changing roles and removing members', () => {
  it("changes a member's role", async () => {
    const tenant = await signUp(testApp.app);
    const member = await joinAs(tenant, 'member');
    const response = await changeRole(tenant.accessToken, member.userId, 'admin');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ userId: member.userId, role: 'admin' });
    expect(await membershipRow(tenant.tenantId, member.userId)).toMatchObject({ role: 'admin' });
  });

  it('removes a member, whose token then no longer opens the tenant', async () => {
    const tenant = await signUp(testApp.app);
    const member = await joinAs(tenant, 'member');
    expect((await removeMember(tenant.accessToken, member.userId)).statusCode).toBe(204);
    expect(await membershipRow(tenant.tenantId, member.userId)).toMatchObject({ deleted_at: expect.any(Date) });
    const response = await testApp.app.inject({ method: 'GET', url: '/v1/members', headers: bearer(member.token) });
    expectProblem(response, 403, 'not-a-member');
  });

  it('returns 404 for a user who is not a member', async () => {
    const tenant = await signUp(testApp.app);
    const stranger = await signUp(testApp.app);
    expectProblem(await changeRole(tenant.accessToken, stranger.userId, 'viewer'), 404, 'not-found');
    expectProblem(await removeMember(tenant.accessToken, stranger.userId), 404, 'not-found');
  });
});

describe('the last owner', () => {
  it('cannot be demoted (409 last-owner)', async () => {
    const tenant = await signUp(testApp.app);
    expectProblem(await changeRole(tenant.accessToken, tenant.userId, 'admin'), 409, 'last-owner');
    expect(await membershipRow(tenant.tenantId, tenant.userId)).toMatchObject({ role: 'owner', deleted_at: null });
  });

  it('cannot be removed (409 last-owner)', async () => {
    const tenant = await signUp(testApp.app);
    expectProblem(await removeMember(tenant.accessToken, tenant.userId), 409, 'last-owner');
    expect(await membershipRow(tenant.tenantId, tenant.userId)).toMatchObject({ role: 'owner', deleted_at: null });
  });

  it('can step down once another owner exists', async () => {
    const tenant = await signUp(testApp.app);
    await joinAs(tenant, 'owner');
    expect((await changeRole(tenant.accessToken, tenant.userId, 'admin')).statusCode).toBe(200);
  });

  it('survives two owners demoting each other at the same time', async () => {
    for (let round = 0; round < 5; round++) {
      const tenant = await signUp(testApp.app);
      const other = await joinAs(tenant, 'owner');
      const responses = await Promise.all([
        changeRole(tenant.accessToken, other.userId, 'admin'),
        changeRole(other.token, tenant.userId, 'admin'),
      ]);
      // The loser either finds the last owner (409) or was demoted first and may no longer touch owners (403).
      expect(responses.filter((r) => r.statusCode === 200)).toHaveLength(1);
      expect([403, 409]).toContain(responses.find((r) => r.statusCode !== 200)!.statusCode);
      const { rows } = await testApp.database.admin.query(
        `SELECT count(*)::int AS owners FROM memberships WHERE tenant_id = $1 AND role = 'owner' AND deleted_at IS NULL`,
        [tenant.tenantId],
      );
      expect(rows[0].owners).toBe(1);
    }
  });

  it('survives two owners removing each other at the same time', async () => {
    const tenant = await signUp(testApp.app);
    const other = await joinAs(tenant, 'owner');
    await Promise.all([removeMember(tenant.accessToken, other.userId), removeMember(other.token, tenant.userId)]);
    const { rows } = await testApp.database.admin.query(
      `SELECT count(*)::int AS owners FROM memberships WHERE tenant_id = $1 AND role = 'owner' AND deleted_at IS NULL`,
      [tenant.tenantId],
    );
    expect(rows[0].owners).toBeGreaterThanOrEqual(1);
  });
});

describe('what an admin may not do', () => {
  it('returns 403 when an admin changes or removes an owner', async () => {
    const tenant = await signUp(testApp.app);
    const admin = await joinAs(tenant, 'admin');
    expectProblem(await changeRole(admin.token, tenant.userId, 'member'), 403, 'forbidden');
    expectProblem(await removeMember(admin.token, tenant.userId), 403, 'forbidden');
    expect(await membershipRow(tenant.tenantId, tenant.userId)).toMatchObject({ role: 'owner', deleted_at: null });
  });

  it('returns 403 when an admin grants the owner role', async () => {
    const tenant = await signUp(testApp.app);
    const admin = await joinAs(tenant, 'admin');
    const member = await joinAs(tenant, 'member');
    expectProblem(await changeRole(admin.token, member.userId, 'owner'), 403, 'forbidden');
    expectProblem(await changeRole(admin.token, admin.userId, 'owner'), 403, 'forbidden');
    const newcomer = await signUp(testApp.app);
    expectProblem(await addMember(admin.token, newcomer.email, 'owner'), 403, 'forbidden');
    const { rows } = await testApp.database.admin.query("SELECT count(*)::int AS n FROM invitations WHERE tenant_id = $1 AND role = 'owner'", [tenant.tenantId]);
    expect(rows[0].n).toBe(0);
    expect(await membershipRow(tenant.tenantId, member.userId)).toMatchObject({ role: 'member' });
    expect(await membershipRow(tenant.tenantId, newcomer.userId)).toBeUndefined();
  });
});

describe('across tenants', () => {
  it("returns 404 when tenant B's admin changes or removes tenant A's member, and the row is unchanged", async () => {
    const tenantA = await signUp(testApp.app);
    const tenantB = await signUp(testApp.app);
    const member = await joinAs(tenantA, 'member');
    expectProblem(await changeRole(tenantB.accessToken, member.userId, 'viewer'), 404, 'not-found');
    expectProblem(await removeMember(tenantB.accessToken, member.userId), 404, 'not-found');
    expectProblem(await changeRole(tenantB.accessToken, tenantA.userId, 'viewer'), 404, 'not-found');
    expectProblem(await removeMember(tenantB.accessToken, tenantA.userId), 404, 'not-found');
    expect(await membershipRow(tenantA.tenantId, member.userId)).toMatchObject({ role: 'member', deleted_at: null });
    expect(await membershipRow(tenantA.tenantId, tenantA.userId)).toMatchObject({ role: 'owner', deleted_at: null });
  });

  it("lists only the tenant's own members", async () => {
    const tenantA = await signUp(testApp.app);
    const tenantB = await signUp(testApp.app);
    const list = (await testApp.app.inject({ method: 'GET', url: '/v1/members', headers: bearer(tenantB.accessToken) })).json().data;
    expect(list.map((m: { userId: string }) => m.userId)).toEqual([tenantB.userId]);
    expect(list.map((m: { userId: string }) => m.userId)).not.toContain(tenantA.userId);
  });
});
