// From the security review: nothing proves that whoever holds an account owns its email
// (open, unverified sign-up). So adding someone by email must never admit an existing
// account by itself, and must not tell the inviting admin whether an account exists or
// whose it is. POST /v1/members only issues an invitation; joining takes the token AND
// either signing in as the account with that email or creating it when none exists.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptInvitation, bearer, expectProblem, invite, login, signUp, uniqueSlug } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let testApp: TestApp;

beforeAll(async () => {
  testApp = await startTestApp();
});

afterAll(async () => {
  await testApp.close();
});

async function membershipsOf(tenantId: string, email: string): Promise<number> {
  const { rows } = await testApp.database.admin.query(
    `SELECT count(*)::int AS n FROM memberships m JOIN users u ON u.id = m.user_id
     WHERE m.tenant_id = $1 AND lower(u.email) = lower($2) AND m.deleted_at IS NULL`,
    [tenantId, email],
  );
  return rows[0].n;
}

describe("an account registered for someone else's email", () => {
  it('does not get into the victim tenant through open sign-up + the victim inviting that email', async () => {
    const victimEmail = `alice-${uniqueSlug()}@victim.test`;
    // 1. The attacker registers the victim's address with the attacker's own password (no verification).
    const attacker = await signUp(testApp.app, { email: victimEmail, password: 'attacker chosen password' });
    // 2. Later, Alice's real company invites her by email, as admin.
    const victim = await signUp(testApp.app);
    const invited = await invite(testApp.app, victim.accessToken, victimEmail, 'admin');
    expect(invited.statusCode).toBe(201);
    // 3. The attacker signs in to the victim tenant with the attacker's password: not a member.
    const session = await login(testApp.app, victimEmail, attacker.password, victim.slug);
    expectProblem(session, 403, 'not-a-member');
    // 4. Nor can the attacker use its own session to list the victim's members.
    const members = await testApp.app.inject({
      method: 'GET',
      url: '/v1/members',
      headers: { ...bearer(attacker.accessToken), 'x-tenant-id': victim.slug },
    });
    expect(members.statusCode).toBe(403);
    expect(await membershipsOf(victim.tenantId, victimEmail)).toBe(0);
  });

  it('cannot be taken over by whoever holds the token: without the account, acceptance is refused', async () => {
    const victimEmail = `dave-${uniqueSlug()}@victim.test`;
    await signUp(testApp.app, { email: victimEmail, password: 'attacker chosen password' });
    const victim = await signUp(testApp.app);
    const { invitationToken } = (await invite(testApp.app, victim.accessToken, victimEmail, 'admin')).json();
    // The real Alice got the token but the email is squatted: she is blocked, and the token
    // cannot overwrite the squatter's account either (no new password, no second user).
    const refused = expectProblem(
      await acceptInvitation(testApp.app, invitationToken, { name: 'Alice', password: 'alice chosen password' }),
      401,
      'invalid-credentials',
    );
    expect(refused.detail).toMatch(/sign in/);
    expectProblem(await login(testApp.app, victimEmail, 'alice chosen password'), 401, 'invalid-credentials');
    expect(await membershipsOf(victim.tenantId, victimEmail)).toBe(0);
  });

  it('does not get into the victim tenant through an invitation the attacker issued and redeemed', async () => {
    const victimEmail = `bob-${uniqueSlug()}@victim.test`;
    const attacker = await signUp(testApp.app);
    const invited = await invite(testApp.app, attacker.accessToken, victimEmail, 'viewer');
    expect(invited.statusCode).toBe(201);
    const accepted = await acceptInvitation(testApp.app, invited.json().invitationToken, {
      name: 'Bob',
      password: 'attacker chosen password',
    });
    expect(accepted.statusCode).toBe(200);

    const victim = await signUp(testApp.app);
    expect((await invite(testApp.app, victim.accessToken, victimEmail, 'admin')).statusCode).toBe(201);

    expectProblem(await login(testApp.app, victimEmail, 'attacker chosen password', victim.slug), 403, 'not-a-member');
    expect(await membershipsOf(victim.tenantId, victimEmail)).toBe(0);
  });
});

describe('inviting by email', () => {
  it("does not disclose another tenant's user (existence, name, status) to the inviting admin", async () => {
    const slug = uniqueSlug();
    const email = `${slug}@victim.test`;
    const victim = await signUp(testApp.app, { slug, email });
    await testApp.database.admin.query(`UPDATE users SET name = 'Victoria Private' WHERE id = $1`, [victim.userId]);

    const attacker = await signUp(testApp.app);
    const known = await invite(testApp.app, attacker.accessToken, email, 'viewer');
    const unknown = await invite(testApp.app, attacker.accessToken, `nobody-${slug}@victim.test`, 'viewer');
    expect(known.statusCode).toBe(201);
    expect(unknown.statusCode).toBe(201);
    expect(known.body).not.toContain('Victoria Private');
    expect(known.body).not.toContain(victim.userId);
    const shape = (body: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(body).map(([key, value]) => [key, key === 'status' || key === 'role' ? value : typeof value]));
    expect(shape(known.json())).toEqual(shape(unknown.json()));
    expect(Object.keys(known.json()).sort()).toEqual(['email', 'expiresAt', 'invitationId', 'invitationToken', 'role', 'status']);
    // The victim is not in the attacker's tenant, and the attacker's member list does not show them.
    expect(await membershipsOf(attacker.tenantId, email)).toBe(0);
    const list = await testApp.app.inject({ method: 'GET', url: '/v1/members', headers: bearer(attacker.accessToken) });
    expect(list.body).not.toContain(email);
  });
});
