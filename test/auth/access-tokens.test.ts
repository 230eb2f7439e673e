// Access tokens on their own: claims round-trip, forged or foreign tokens fail, and a
// remembered (already verified) token still expires on time, and says it expired.

import { describe, expect, it } from 'vitest';
import { AccessTokens, EXPIRED } from '../../src/auth/access-tokens.js';
import { TestClock } from '../support/test-app.js';

const claims = {
  userId: '01a20817-8109-7101-a7b5-65e99a9897c4',
  tenantId: '01a20817-8109-7101-a7b5-65e99a9897c5',
  sessionFamilyId: '01a20817-8109-7101-a7b5-65e99a9897c6',
};

function tokens(clock = new TestClock(), secret = 's'.repeat(40)) {
  return new AccessTokens({ kind: 'secret', secret }, 900, clock);
}

describe('access tokens', () => {
  it('returns the claims it signed, from the first and from later checks', async () => {
    const issuer = tokens();
    const { token } = await issuer.issue(claims);
    expect(await issuer.verify(token)).toEqual(claims);
    expect(await issuer.verify(token)).toEqual(claims);
  });

  it('refuses a token with a changed payload or signed with another secret', async () => {
    const issuer = tokens();
    const { token } = await issuer.issue(claims);
    const [header, payload, signature] = token.split('.');
    const forged = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    forged.tenant_id = '01a20817-0000-7000-8000-000000000000';
    expect(await issuer.verify([header, Buffer.from(JSON.stringify(forged)).toString('base64url'), signature].join('.'))).toBeUndefined();
    const foreign = await tokens(new TestClock(), 'o'.repeat(40)).issue(claims);
    expect(await issuer.verify(foreign.token)).toBeUndefined();
  });

  it('expires a remembered token at its exp', async () => {
    const clock = new TestClock().freeze();
    const issuer = tokens(clock);
    const { token } = await issuer.issue(claims);
    expect(await issuer.verify(token)).toEqual(claims);
    clock.advance(899);
    expect(await issuer.verify(token)).toEqual(claims);
    clock.advance(2);
    expect(await issuer.verify(token)).toBe(EXPIRED);
  });

  it('reports a genuine token past its exp as expired, and a forged one past its exp as invalid', async () => {
    const clock = new TestClock().freeze();
    const issuer = tokens(clock);
    const { token } = await issuer.issue(claims);
    clock.advance(901);
    expect(await issuer.verify(token)).toBe(EXPIRED);
    const foreign = await tokens(clock, 'o'.repeat(40)).issue(claims);
    clock.advance(901);
    expect(await issuer.verify(foreign.token)).toBeUndefined();
  });
});
