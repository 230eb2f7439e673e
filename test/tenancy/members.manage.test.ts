// /v1/members: owners and admins add (existing or invited users), re-role and remove members;
// only owners touch owners; the last owner stays; another tenant sees 404, never the row.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, expectProblem, login, signUp, uniqueSlug, type SignedUpTenant } from '../support/fixtures.js';
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
  return testApp.app.inject({ method: 'POST', url: '/v1/members', headers: bearer(token), payload: { email, role } });
}

function changeRole(token: string, userId: string, role: Role) {
  return testApp.app.inject({ method: 'PATCH', url: `/v1/members/${userId}`, headers: bearer(token), payload: { role } });
}

function removeMember(token: string, userId: string) {
  return testApp.app.inject({ method: 'DELETE', url: `/v1/members/${userId}`, headers: bearer(token) });
}

function acceptInvitation(token: string, password = 'invited password 123') {
  return testApp.app.inject({ method: 'POST', url: '/v1/auth/accept-invitation', payload: { token, name: 'Invitee', password } });
}

async function membershipRow(tenantId: string, userId: string) {
  const { rows } = await testApp.database.admin.query('SELECT role, deleted_at FROM memberships WHERE tenant_id = $1 AND user_id = $2', [
    tenantId,
    userId,
  ]);
  return rows[0];
}

/** Adds an existing user to the tenant with `role` and signs them in there. */
async function joinAs(tenant: SignedUpTenant, role: Role): Promise<{ userId: string; token: string }> {
  const person = await signUp(testApp.app);
  const added = await addMember(tenant.accessToken, person.email, role);
  expect(added.statusCode).toBe(201);
  const token = (await login(testApp.app, person.email, person.password, tenant.slug)).json().accessToken;
  return { userId: person.userId, token };
}

describe('adding a member', () => {
  it('adds an existing user with the role asked for', async () => {
    const tenant = await signUp(testApp.app);
    const person = await signUp(testApp.app);
    const response = await addMember(tenant.accessToken, person.email, 'member');
    expect(response.statusCode).toBe(201);
    expect(response.json()).toEqual({
      userId: person.userId,
      email: person.email,
      name: 'Owner',
      role: 'member',
      status: 'active',
      joinedAt: expect.any(String),
    });
    const list = (await testApp.app.inject({ method: 'GET', url: '/v1/members', headers: bearer(tenant.accessToken) })).json().data;
    expect(list.map((m: { userId: string; role: string }) => [m.userId, m.role])).toEqual([
      [tenant.userId, 'owner'],
      [person.userId, 'member'],
    ]);
  });

  it('returns 409 when the user is already a member', async () => {
    const tenant = await signUp(testApp.app);
    expectProblem(await addMember(tenant.accessToken, tenant.email, 'member'), 409, 'conflict');
    expect(await membershipRow(tenant.tenantId, tenant.userId)).toMatchObject({ role: 'owner' });
  });

  it('creates an invited user for an unknown email, who redeems the invitation and can then sign in', async () => {
    const tenant = await signUp(testApp.app);
    const email = `${uniqueSlug('invitee')}@example.test`;
    const response = await addMember(tenant.accessToken, email, 'viewer');
    expect(response.statusCode).toBe(201);
    const added = response.json();
    expect(added).toMatchObject({ email, role: 'viewer', status: 'invited', invitationToken: expect.any(String) });

    const accepted = await acceptInvitation(added.invitationToken, 'invited password 123');
    expect(accepted.statusCode).toBe(200);
    const signedIn = await login(testApp.app, email, 'invited password 123');
    expect(signedIn.statusCode).toBe(200);
    const members = await testApp.app.inject({ method: 'GET', url: '/v1/members', headers: bearer(signedIn.json().accessToken) });
    expect(members.statusCode).toBe(200);
    expect(members.json().data).toContainEqual(expect.objectContaining({ email, role: 'viewer', status: 'active', name: 'Invitee' }));
  });

  it('accepts an invitation token once only', async () => {
    const tenant = await signUp(testApp.app);
    const { invitationToken } = (await addMember(tenant.accessToken, `${uniqueSlug('once')}@example.test`, 'member')).json();
    expect((await acceptInvitation(invitationToken)).statusCode).toBe(200);
    expectProblem(await acceptInvitation(invitationToken, 'a different password'), 401, 'invalid-credentials');
  });

  it('returns 401 for an invitation token that was never issued', async () => {
    expectProblem(await acceptInvitation('inv_never-issued'), 401, 'invalid-credentials');
  });

  it('returns 409 to another tenant adding a user still invited by this one, and hands it no token', async () => {
    const tenantA = await signUp(testApp.app);
    const tenantB = await signUp(testApp.app);
    const email = `${uniqueSlug('pending')}@example.test`;
    const { invitationToken, userId } = (await addMember(tenantA.accessToken, email, 'admin')).json();

    // With a fresh token of its own, tenant B could set the password and sign in to tenant A.
    const second = await addMember(tenantB.accessToken, email, 'member');
    expectProblem(second, 409, 'conflict');
    expect(second.json()).not.toHaveProperty('invitationToken');
    expect(await membershipRow(tenantB.tenantId, userId)).toBeUndefined();

    expect((await acceptInvitation(invitationToken)).statusCode).toBe(200);
    const afterAcceptance = await addMember(tenantB.accessToken, email, 'member');
    expect(afterAcceptance.statusCode).toBe(201);
    expect(afterAcceptance.json()).not.toHaveProperty('invitationToken');
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

// Last in the file: moving the clock a week also expires every token issued above.
describe('invitation expiry', () => {
  it('refuses an invitation token older than seven days', async () => {
    const tenant = await signUp(testApp.app);
    const { invitationToken } = (await addMember(tenant.accessToken, `${uniqueSlug('late')}@example.test`, 'member')).json();
    testApp.clock.advance(7 * 86_400 + 1);
    expectProblem(await acceptInvitation(invitationToken), 401, 'invalid-credentials');
  });
});
