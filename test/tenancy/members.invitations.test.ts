// Invitations: issued by an admin, listed and withdrawn in their tenant only, accepted once
// by the token holder, either signed in as the account with the invited email or by creating
// that account. The tenant is the invitation's, never the caller's. An open invitation holds
// one of the plan's seats, so none is sent that could not be accepted.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  acceptInvitation,
  addExistingMember,
  bearer,
  expectProblem,
  invite,
  jwtClaims,
  login,
  signUp,
  uniqueSlug,
} from '../support/fixtures.js';
import { createHash } from 'node:crypto';
import { proveEmail } from '../support/prove-email.js';
import { TEST_ROLES } from '../support/roles.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let testApp: TestApp;

beforeAll(async () => {
  testApp = await startTestApp();
});

afterAll(async () => {
  await testApp.close();
});

const newPassword = 'invited password 123';

function listInvitations(token: string) {
  return testApp.app.inject({ method: 'GET', url: '/v1/invitations', headers: bearer(token) });
}

function withdraw(token: string, id: string) {
  return testApp.app.inject({ method: 'DELETE', url: `/v1/invitations/${id}`, headers: bearer(token) });
}

async function membership(tenantId: string, email: string): Promise<{ role: string; deleted_at: Date | null } | undefined> {
  const { rows } = await testApp.database.admin.query(
    `SELECT m.role, m.deleted_at FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.tenant_id = $1 AND lower(u.email) = lower($2)`,
    [tenantId, email],
  );
  return rows[0];
}

async function usersWithEmail(email: string): Promise<number> {
  const { rows } = await testApp.database.admin.query('SELECT count(*)::int AS n FROM users WHERE lower(email) = lower($1)', [email]);
  return rows[0].n;
}

describe('accepting as a new user', () => {
  it('creates the account and the membership, and answers tokens for the tenant', async () => {
    const tenant = await signUp(testApp.app);
    const email = `${uniqueSlug('new')}@example.test`;
    const invited = await invite(testApp.app, tenant.accessToken, email, 'viewer');
    expect(invited.statusCode).toBe(201);
    expect(await usersWithEmail(email)).toBe(0);

    const accepted = await acceptInvitation(testApp.app, invited.json().invitationToken, { name: 'Invitee', password: newPassword });
    expect(accepted.statusCode).toBe(200);
    expect(jwtClaims(accepted.json().accessToken)).toMatchObject({ tenant_id: tenant.tenantId });
    const members = await testApp.app.inject({ method: 'GET', url: '/v1/members', headers: bearer(accepted.json().accessToken) });
    expect(members.statusCode).toBe(200);
    expect(members.json().data).toContainEqual(expect.objectContaining({ email, role: 'viewer', status: 'active', name: 'Invitee' }));
    expect((await login(testApp.app, email, newPassword, tenant.slug)).statusCode).toBe(200);
    expect((await listInvitations(tenant.accessToken)).json().data).toEqual([]);
  });

  it('needs a name and a password of at least 10 characters (400), and leaves the invitation usable', async () => {
    const tenant = await signUp(testApp.app);
    const email = `${uniqueSlug('bare')}@example.test`;
    const { invitationToken } = (await invite(testApp.app, tenant.accessToken, email, 'member')).json();
    expectProblem(await acceptInvitation(testApp.app, invitationToken), 400, 'validation-failed');
    expectProblem(await acceptInvitation(testApp.app, invitationToken, { name: 'No Password' }), 400, 'validation-failed');
    expectProblem(await acceptInvitation(testApp.app, invitationToken, { name: 'Short', password: 'short' }), 400, 'validation-failed');
    expect(await usersWithEmail(email)).toBe(0);
    expect((await acceptInvitation(testApp.app, invitationToken, { name: 'Fine', password: newPassword })).statusCode).toBe(200);
  });
});

describe('accepting signed in', () => {
  it('adds the signed-in user whose email matches (case-insensitively), with the invited role', async () => {
    const tenant = await signUp(testApp.app);
    const person = await signUp(testApp.app);
    await proveEmail(testApp.app, person.email);
    const { invitationToken } = (await invite(testApp.app, tenant.accessToken, person.email.toUpperCase(), 'admin')).json();
    const accepted = await acceptInvitation(testApp.app, invitationToken, { accessToken: person.accessToken });
    expect(accepted.statusCode).toBe(200);
    expect(jwtClaims(accepted.json().accessToken)).toMatchObject({ sub: person.userId, tenant_id: tenant.tenantId });
    expect(await membership(tenant.tenantId, person.email)).toEqual({ role: 'admin', deleted_at: null });
    // Their own tenant is untouched.
    expect(await membership(person.tenantId, person.email)).toEqual({ role: 'owner', deleted_at: null });
  });

  it('returns 403 to a signed-in user with another email, and adds nobody', async () => {
    const tenant = await signUp(testApp.app);
    const invitee = await signUp(testApp.app);
    await proveEmail(testApp.app, invitee.email);
    const other = await signUp(testApp.app);
    const { invitationToken } = (await invite(testApp.app, tenant.accessToken, invitee.email, 'admin')).json();
    expectProblem(await acceptInvitation(testApp.app, invitationToken, { accessToken: other.accessToken }), 403, 'forbidden');
    expect(await membership(tenant.tenantId, other.email)).toBeUndefined();
    // A stranger's token with a name and password does not help either.
    const withProfile = await testApp.app.inject({
      method: 'POST',
      url: '/v1/auth/accept-invitation',
      headers: bearer(other.accessToken),
      payload: { token: invitationToken, name: 'Other', password: newPassword },
    });
    expectProblem(withProfile, 403, 'forbidden');
    // The invitation is still the invitee's to accept.
    expect((await acceptInvitation(testApp.app, invitationToken, { accessToken: invitee.accessToken })).statusCode).toBe(200);
  });

  it('returns 403 for an API key, which is not a person', async () => {
    const tenant = await signUp(testApp.app);
    const invitee = await signUp(testApp.app);
    const { invitationToken } = (await invite(testApp.app, tenant.accessToken, invitee.email, 'member')).json();
    expectProblem(await acceptInvitation(testApp.app, invitationToken, { accessToken: invitee.apiKey }), 403, 'forbidden');
    expect(await membership(tenant.tenantId, invitee.email)).toBeUndefined();
  });

  it('returns 401 for a logged-out access token', async () => {
    const tenant = await signUp(testApp.app);
    const invitee = await signUp(testApp.app);
    const { invitationToken } = (await invite(testApp.app, tenant.accessToken, invitee.email, 'member')).json();
    await testApp.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: bearer(invitee.accessToken) });
    expectProblem(await acceptInvitation(testApp.app, invitationToken, { accessToken: invitee.accessToken }), 401, 'invalid-credentials');
    expect(await membership(tenant.tenantId, invitee.email)).toBeUndefined();
  });

  it('brings back a member who was removed, with the new role', async () => {
    const tenant = await signUp(testApp.app);
    const person = await signUp(testApp.app);
    await addExistingMember(testApp.app, tenant.accessToken, person, 'member');
    const removed = await testApp.app.inject({ method: 'DELETE', url: `/v1/members/${person.userId}`, headers: bearer(tenant.accessToken) });
    expect(removed.statusCode).toBe(204);
    await addExistingMember(testApp.app, tenant.accessToken, person, 'viewer');
    expect(await membership(tenant.tenantId, person.email)).toEqual({ role: 'viewer', deleted_at: null });
  });
});

describe('tokens that no longer work', () => {
  it('refuses a used token (401), whichever way it is presented', async () => {
    const tenant = await signUp(testApp.app);
    const person = await signUp(testApp.app);
    await proveEmail(testApp.app, person.email);
    const { invitationToken } = (await invite(testApp.app, tenant.accessToken, person.email, 'member')).json();
    expect((await acceptInvitation(testApp.app, invitationToken, { accessToken: person.accessToken })).statusCode).toBe(200);
    expectProblem(await acceptInvitation(testApp.app, invitationToken, { accessToken: person.accessToken }), 401, 'invalid-credentials');
    expectProblem(await acceptInvitation(testApp.app, invitationToken, { name: 'Again', password: newPassword }), 401, 'invalid-credentials');
  });

  it('refuses a withdrawn token (401), and the email can be invited again', async () => {
    const tenant = await signUp(testApp.app);
    const email = `${uniqueSlug('withdrawn')}@example.test`;
    const invited = (await invite(testApp.app, tenant.accessToken, email, 'member')).json();
    expect((await listInvitations(tenant.accessToken)).json().data.map((i: { invitationId: string }) => i.invitationId)).toEqual([
      invited.invitationId,
    ]);
    expect((await withdraw(tenant.accessToken, invited.invitationId)).statusCode).toBe(204);
    expectProblem(await withdraw(tenant.accessToken, invited.invitationId), 404, 'not-found');
    expectProblem(await acceptInvitation(testApp.app, invited.invitationToken, { name: 'Too late', password: newPassword }), 401, 'invalid-credentials');
    expect(await usersWithEmail(email)).toBe(0);
    expect((await listInvitations(tenant.accessToken)).json().data).toEqual([]);
    expect((await invite(testApp.app, tenant.accessToken, email, 'member')).statusCode).toBe(201);
  });

  it('refuses a token that was never issued (401)', async () => {
    expectProblem(await acceptInvitation(testApp.app, 'inv_never-issued', { name: 'Nobody', password: newPassword }), 401, 'invalid-credentials');
  });

  it("refuses a token of a deleted tenant (401)", async () => {
    const tenant = await signUp(testApp.app);
    const { invitationToken } = (await invite(testApp.app, tenant.accessToken, `${uniqueSlug('gone')}@example.test`, 'member')).json();
    const deleted = await testApp.app.inject({ method: 'DELETE', url: '/v1/tenant', headers: bearer(tenant.accessToken), payload: { confirm: tenant.slug } });
    expect(deleted.statusCode).toBe(200);
    expectProblem(await acceptInvitation(testApp.app, invitationToken, { name: 'Late', password: newPassword }), 401, 'invalid-credentials');
  });
});

describe('listing and withdrawing', () => {
  it('lists pending invitations to admins only, without their tokens', async () => {
    const tenant = await signUp(testApp.app);
    const email = `${uniqueSlug('listed')}@example.test`;
    const invited = (await invite(testApp.app, tenant.accessToken, email, 'member')).json();
    const list = await listInvitations(tenant.accessToken);
    expect(list.statusCode).toBe(200);
    expect(list.json().data).toEqual([
      {
        invitationId: invited.invitationId,
        email,
        role: 'member',
        status: 'invited',
        invitedBy: tenant.userId,
        createdAt: expect.any(String),
        expiresAt: invited.expiresAt,
      },
    ]);
    expect(list.body).not.toContain(invited.invitationToken);

    const member = await signUp(testApp.app);
    const { accessToken } = await addExistingMember(testApp.app, tenant.accessToken, member, 'member');
    expectProblem(await listInvitations(accessToken), 403, 'forbidden');
    expectProblem(await withdraw(accessToken, invited.invitationId), 403, 'forbidden');
    expectProblem(await invite(testApp.app, accessToken, `${uniqueSlug('x')}@example.test`, 'viewer'), 403, 'forbidden');
  });
});

describe('across tenants', () => {
  it("does not let tenant B's admin list or withdraw tenant A's invitations (404)", async () => {
    const tenantA = await signUp(testApp.app);
    const tenantB = await signUp(testApp.app);
    const email = `${uniqueSlug('cross')}@example.test`;
    const invited = (await invite(testApp.app, tenantA.accessToken, email, 'admin')).json();
    expect((await listInvitations(tenantB.accessToken)).json().data).toEqual([]);
    expectProblem(await withdraw(tenantB.accessToken, invited.invitationId), 404, 'not-found');
    expectProblem(await withdraw(tenantB.apiKey, invited.invitationId), 404, 'not-found');
    expect((await listInvitations(tenantA.accessToken)).json().data).toHaveLength(1);
    // Still usable in A.
    const accepted = await acceptInvitation(testApp.app, invited.invitationToken, { name: 'Cross', password: newPassword });
    expect(jwtClaims(accepted.json().accessToken)).toMatchObject({ tenant_id: tenantA.tenantId });
  });

  it("never turns tenant A's token into a membership in B, whatever tenant the caller is signed in to", async () => {
    const tenantA = await signUp(testApp.app);
    const tenantB = await signUp(testApp.app);
    const person = await signUp(testApp.app);
    // Signed in to B (their token names tenant B), redeeming A's invitation.
    const inB = await addExistingMember(testApp.app, tenantB.accessToken, person, 'viewer');
    expect(jwtClaims(inB.accessToken)).toMatchObject({ tenant_id: tenantB.tenantId });
    const { invitationToken } = (await invite(testApp.app, tenantA.accessToken, person.email, 'admin')).json();
    const accepted = await testApp.app.inject({
      method: 'POST',
      url: '/v1/auth/accept-invitation',
      headers: { ...bearer(inB.accessToken), 'x-tenant-id': tenantB.slug },
      payload: { token: invitationToken },
    });
    expect(accepted.statusCode).toBe(200);
    expect(jwtClaims(accepted.json().accessToken)).toMatchObject({ tenant_id: tenantA.tenantId });
    expect(await membership(tenantA.tenantId, person.email)).toEqual({ role: 'admin', deleted_at: null });
    expect(await membership(tenantB.tenantId, person.email)).toEqual({ role: 'viewer', deleted_at: null });
  });
});

describe('the identity-scope lookup by token hash', () => {
  it('shows exactly the invitation with that hash, through both layers and through RLS alone', async () => {
    const tenantA = await signUp(testApp.app);
    const tenantB = await signUp(testApp.app);
    const { invitationToken } = (await invite(testApp.app, tenantA.accessToken, `${uniqueSlug('hash')}@example.test`, 'member')).json();
    await invite(testApp.app, tenantB.accessToken, `${uniqueSlug('other')}@example.test`, 'member');
    const hash = createHash('sha256').update(invitationToken).digest();

    const viaApp = await testApp.services.db.identity({ invitationTokenHash: hash }, (tx) =>
      tx.selectFrom('invitations').select('tenant_id').execute(),
    );
    expect(viaApp).toEqual([{ tenant_id: tenantA.tenantId }]);
    await expect(testApp.services.db.identity({}, (tx) => tx.selectFrom('invitations').selectAll().execute())).rejects.toThrow(
      /outside a tenant scope/,
    );

    const client = await testApp.database.admin.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SET LOCAL ROLE "${TEST_ROLES.app}"`);
      expect((await client.query('SELECT tenant_id FROM invitations')).rows).toEqual([]);
      await client.query(`SET LOCAL app.invitation_token_hash = '${hash.toString('hex')}'`);
      expect((await client.query('SELECT tenant_id FROM invitations')).rows).toEqual([{ tenant_id: tenantA.tenantId }]);
      await expect(client.query('UPDATE invitations SET deleted_at = now()')).resolves.toMatchObject({ rowCount: 0 });
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });
});

describe('concurrent acceptances of one token', () => {
  it('let exactly one new-account acceptance through', async () => {
    for (let round = 0; round < 3; round++) {
      const tenant = await signUp(testApp.app);
      const email = `${uniqueSlug('race')}@example.test`;
      const { invitationToken } = (await invite(testApp.app, tenant.accessToken, email, 'member')).json();
      const responses = await Promise.all(
        Array.from({ length: 4 }, (_, i) => acceptInvitation(testApp.app, invitationToken, { name: `Racer ${i}`, password: `racer password ${i}` })),
      );
      expect(responses.map((r) => r.statusCode).sort()).toEqual([200, 401, 401, 401]);
      expect(await usersWithEmail(email)).toBe(1);
      const { rows } = await testApp.database.admin.query('SELECT count(*)::int AS n FROM memberships WHERE tenant_id = $1', [tenant.tenantId]);
      expect(rows[0].n).toBe(2);
    }
  });

  it('let exactly one signed-in acceptance through', async () => {
    const tenant = await signUp(testApp.app);
    const person = await signUp(testApp.app);
    await proveEmail(testApp.app, person.email);
    const { invitationToken } = (await invite(testApp.app, tenant.accessToken, person.email, 'member')).json();
    const responses = await Promise.all(
      Array.from({ length: 4 }, () => acceptInvitation(testApp.app, invitationToken, { accessToken: person.accessToken })),
    );
    expect(responses.map((r) => r.statusCode).sort()).toEqual([200, 401, 401, 401]);
    const { rows } = await testApp.database.admin.query(
      'SELECT count(*)::int AS n FROM sessions WHERE user_id = $1 AND active_tenant_id = $2',
      [person.userId, tenant.tenantId],
    );
    expect(rows[0].n).toBe(1);
  });
});

describe('a user row left by the old invitation flow (status invited, no password)', () => {
  async function placeholder(email: string, pendingIn?: string): Promise<string> {
    const id = crypto.randomUUID();
    await testApp.database.admin.query(`INSERT INTO users (id, email, status) VALUES ($1, $2, 'invited')`, [id, email]);
    if (pendingIn) {
      await testApp.database.admin.query(`INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, 'admin')`, [pendingIn, id]);
    }
    return id;
  }

  it('is taken up by the new-account acceptance when it belongs to no tenant', async () => {
    const tenant = await signUp(testApp.app);
    const email = `${uniqueSlug('legacy')}@example.test`;
    const id = await placeholder(email);
    const { invitationToken } = (await invite(testApp.app, tenant.accessToken, email, 'member')).json();
    const accepted = await acceptInvitation(testApp.app, invitationToken, { name: 'Legacy', password: newPassword });
    expect(accepted.statusCode).toBe(200);
    expect(jwtClaims(accepted.json().accessToken)).toMatchObject({ sub: id, tenant_id: tenant.tenantId });
    expect(await usersWithEmail(email)).toBe(1);
  });

  it('is not, while it still has a pending membership elsewhere (that would admit the token holder there)', async () => {
    const elsewhere = await signUp(testApp.app);
    const tenant = await signUp(testApp.app);
    const email = `${uniqueSlug('legacy')}@example.test`;
    await placeholder(email, elsewhere.tenantId);
    const { invitationToken } = (await invite(testApp.app, tenant.accessToken, email, 'member')).json();
    expectProblem(await acceptInvitation(testApp.app, invitationToken, { name: 'Legacy', password: newPassword }), 401, 'invalid-credentials');
    expectProblem(await login(testApp.app, email, newPassword), 401, 'invalid-credentials');
  });
});

describe('sign-up with an invited email', () => {
  it('is an ordinary sign-up: the invitation created no user, and still needs the signed-in account to accept', async () => {
    const tenant = await signUp(testApp.app);
    const email = `${uniqueSlug('signup')}@example.test`;
    const { invitationToken } = (await invite(testApp.app, tenant.accessToken, email, 'member')).json();
    const founder = await signUp(testApp.app, { email });
    await proveEmail(testApp.app, founder.email);
    expectProblem(await acceptInvitation(testApp.app, invitationToken, { name: 'X', password: newPassword }), 401, 'invalid-credentials');
    expect((await acceptInvitation(testApp.app, invitationToken, { accessToken: founder.accessToken })).statusCode).toBe(200);
  });
});

describe("invitations and the plan's seats", () => {
  it('refuses the invitation past the seats of a free tenant (the owner and two open invitations) with 403, and writes none', async () => {
    const tenant = await signUp(testApp.app);
    for (const name of ['one', 'two']) expect((await invite(testApp.app, tenant.accessToken, `${uniqueSlug(name)}@example.test`, 'member')).statusCode).toBe(201);
    const refused = await invite(testApp.app, tenant.accessToken, `${uniqueSlug('three')}@example.test`, 'member');
    expect(expectProblem(refused, 403, 'plan-limit-reached')).toMatchObject({ metric: 'seats', limit: 3, current: 3, required_plan: 'pro' });
    expect((await listInvitations(tenant.accessToken)).json().data).toHaveLength(2);
  });

  it('gives the seat of a withdrawn invitation back', async () => {
    const tenant = await signUp(testApp.app);
    const invited = [];
    for (const name of ['one', 'two']) invited.push((await invite(testApp.app, tenant.accessToken, `${uniqueSlug(name)}@example.test`, 'member')).json());
    expect((await withdraw(tenant.accessToken, invited[0].invitationId)).statusCode).toBe(204);
    expect((await invite(testApp.app, tenant.accessToken, `${uniqueSlug('instead')}@example.test`, 'member')).statusCode).toBe(201);
  });

  it('gives the seat of an expired invitation back', async () => {
    const tenant = await signUp(testApp.app);
    const invited = [];
    for (const name of ['one', 'two']) invited.push((await invite(testApp.app, tenant.accessToken, `${uniqueSlug(name)}@example.test`, 'member')).json());
    await testApp.database.admin.query("UPDATE invitations SET expires_at = now() - interval '1 minute' WHERE id = $1", [invited[0].invitationId]);
    expect((await invite(testApp.app, tenant.accessToken, `${uniqueSlug('instead')}@example.test`, 'member')).statusCode).toBe(201);
  });

  it('keeps the seat when the invitation is accepted: the member holds it instead', async () => {
    const tenant = await signUp(testApp.app);
    const first = (await invite(testApp.app, tenant.accessToken, `${uniqueSlug('joins')}@example.test`, 'member')).json();
    expect((await acceptInvitation(testApp.app, first.invitationToken, { name: 'Joined', password: newPassword })).statusCode).toBe(200);
    expect((await invite(testApp.app, tenant.accessToken, `${uniqueSlug('last')}@example.test`, 'member')).statusCode).toBe(201);
    expectProblem(await invite(testApp.app, tenant.accessToken, `${uniqueSlug('over')}@example.test`, 'member'), 403, 'plan-limit-reached');
  });
});

// Last in the file: moving the clock a week also expires every token issued above.
describe('invitation expiry', () => {
  it('refuses an invitation older than seven days (401), hides it from the list, and lets the email be invited again', async () => {
    const tenant = await signUp(testApp.app);
    const email = `${uniqueSlug('late')}@example.test`;
    const { invitationToken } = (await invite(testApp.app, tenant.accessToken, email, 'member')).json();
    testApp.clock.advance(7 * 86_400 + 1);
    expectProblem(await acceptInvitation(testApp.app, invitationToken, { name: 'Late', password: newPassword }), 401, 'invalid-credentials');
    // The owner's access token expired with the week too.
    const ownerToken = (await login(testApp.app, tenant.email, tenant.password, tenant.slug)).json().accessToken;
    expect((await listInvitations(ownerToken)).json().data).toEqual([]);
    expect((await invite(testApp.app, ownerToken, email, 'member')).statusCode).toBe(201);
  });
});
