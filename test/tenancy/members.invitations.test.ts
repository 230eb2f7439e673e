// An invited user belongs to one tenant until they accept. Two tenants inviting the same new
// email at the same moment must not both get a token: the one whose token survived could set
// the password and sign in to the other tenant as that person. Withdrawing an invitation
// frees the email and kills its token.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, login, signUp, uniqueSlug } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let testApp: TestApp;

beforeAll(async () => {
  testApp = await startTestApp();
});

afterAll(async () => {
  await testApp.close();
});

describe('two tenants inviting the same new email concurrently', () => {
  it('never leaves one invited user pending in two tenants', async () => {
    const victim = await signUp(testApp.app);
    const attacker = await signUp(testApp.app);
    const invite = (token: string, email: string) =>
      testApp.app.inject({ method: 'POST', url: '/v1/members', headers: bearer(token), payload: { email, role: 'admin' } });

    let doubled: { email: string; tokens: string[] } | undefined;
    for (let attempt = 0; attempt < 5 && !doubled; attempt++) {
      const email = `carol-${uniqueSlug()}@victim.test`;
      const [byVictim, byAttacker] = await Promise.all([invite(victim.accessToken, email), invite(attacker.accessToken, email)]);
      if (byVictim.statusCode === 201 && byAttacker.statusCode === 201) {
        doubled = { email, tokens: [byAttacker.json().invitationToken, byVictim.json().invitationToken] };
      }
    }
    if (doubled) {
      // The attacker redeems whichever token survived (it is the attacker's own whenever its
      // request wrote last) and signs in to the victim tenant with the password it chose.
      for (const token of doubled.tokens) {
        await testApp.app.inject({
          method: 'POST',
          url: '/v1/auth/accept-invitation',
          payload: { token, name: 'Carol', password: 'attacker chosen password' },
        });
      }
      const intoVictim = await login(testApp.app, doubled.email, 'attacker chosen password', victim.slug);
      expect({ bothInvitesSucceeded: true, loginToVictimTenant: intoVictim.statusCode }).toEqual({
        bothInvitesSucceeded: false,
        loginToVictimTenant: 401,
      });
    }
    expect(doubled).toBeUndefined();
  });
});

describe('withdrawing an invitation', () => {
  it('kills its token and lets another tenant invite the email', async () => {
    const first = await signUp(testApp.app);
    const second = await signUp(testApp.app);
    const email = `${uniqueSlug('withdrawn')}@example.test`;
    const invited = await testApp.app.inject({
      method: 'POST',
      url: '/v1/members',
      headers: bearer(first.accessToken),
      payload: { email, role: 'member' },
    });
    expect(invited.statusCode).toBe(201);
    const { userId, invitationToken } = invited.json();
    const removed = await testApp.app.inject({ method: 'DELETE', url: `/v1/members/${userId}`, headers: bearer(first.accessToken) });
    expect(removed.statusCode).toBe(204);
    const redeemed = await testApp.app.inject({
      method: 'POST',
      url: '/v1/auth/accept-invitation',
      payload: { token: invitationToken, name: 'Too late', password: 'a long enough password' },
    });
    expect(redeemed.statusCode).toBe(401);
    const again = await testApp.app.inject({
      method: 'POST',
      url: '/v1/members',
      headers: bearer(second.accessToken),
      payload: { email, role: 'member' },
    });
    expect(again.statusCode).toBe(201);
  });
});
