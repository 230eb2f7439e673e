// Short-lived JWT access tokens (jose): HS256 with a shared secret, or an asymmetric
// key pair. Claims: sub (user), tenant_id (active tenant, if any), sid (session family).

import { createPrivateKey, createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { SignJWT, errors, jwtVerify } from 'jose';
import type { Clock } from '../clock.js';
import type { JwtKeyConfig } from '../config.js';

const ISSUER = 'tenantry';
const AUDIENCE = 'tenantry-api';
const VERIFIED_CACHE_SIZE = 10_000;

export interface AccessClaims {
  readonly userId: string;
  readonly tenantId: string | undefined;
  readonly sessionFamilyId: string;
}

/** What verify() says of a genuine token of ours whose time is up: the client should refresh, not sign in again. */
export const EXPIRED = 'expired';

export interface IssuedAccessToken {
  readonly token: string;
  readonly expiresIn: number;
}

export class AccessTokens {
  readonly #alg: string;
  readonly #signingKey: KeyObject;
  readonly #verifyKey: KeyObject;
  readonly #ttlSeconds: number;
  readonly #clock: Clock;
  /** Signature-checked tokens, oldest first (a Map keeps insertion order). */
  readonly #verified = new Map<string, { claims: AccessClaims; expiresAt: number }>();

  constructor(key: JwtKeyConfig, ttlSeconds: number, clock: Clock) {
    if (key.kind === 'secret') {
      this.#alg = 'HS256';
      this.#signingKey = this.#verifyKey = createSecretKey(Buffer.from(key.secret, 'utf8'));
    } else {
      this.#alg = key.alg;
      this.#signingKey = createPrivateKey(key.privateKeyPem);
      this.#verifyKey = createPublicKey(key.publicKeyPem);
    }
    this.#ttlSeconds = ttlSeconds;
    this.#clock = clock;
  }

  async issue(claims: AccessClaims): Promise<IssuedAccessToken> {
    const now = Math.floor(this.#clock.now().getTime() / 1000);
    const jwt = new SignJWT({ ...(claims.tenantId ? { tenant_id: claims.tenantId } : {}), sid: claims.sessionFamilyId })
      .setProtectedHeader({ alg: this.#alg, typ: 'JWT' })
      .setSubject(claims.userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(now + this.#ttlSeconds);
    return { token: await jwt.sign(this.#signingKey), expiresIn: this.#ttlSeconds };
  }

  /**
   * EXPIRED for a token whose signature and claims check out but whose time is up (jose
   * checks the signature before the expiry, so a forged token is never reported expired);
   * undefined for any token that is malformed, forged or not ours.
   */
  async verify(token: string): Promise<AccessClaims | typeof EXPIRED | undefined> {
    const now = this.#clock.now();
    const known = this.#verified.get(token);
    if (known) {
      if (known.expiresAt > now.getTime()) return known.claims;
      this.#verified.delete(token);
      return EXPIRED;
    }
    try {
      const { payload } = await jwtVerify(token, this.#verifyKey, {
        algorithms: [this.#alg],
        issuer: ISSUER,
        audience: AUDIENCE,
        currentDate: now,
        requiredClaims: ['sub', 'sid', 'exp', 'iat'],
      });
      const tenantId = typeof payload.tenant_id === 'string' ? payload.tenant_id : undefined;
      if (typeof payload.sid !== 'string' || !payload.sub) return undefined;
      const claims = { userId: payload.sub, tenantId, sessionFamilyId: payload.sid };
      this.#remember(token, claims, payload.exp! * 1000);
      return claims;
    } catch (error) {
      if (error instanceof errors.JWTExpired) return EXPIRED;
      if (error instanceof errors.JOSEError) return undefined;
      throw error;
    }
  }

  /**
   * Clients reuse an access token for many requests, and a signature checked once stays
   * valid: remembering it saves WebCrypto's ~100 µs per request. Expiry is still checked on
   * every use; revocation is checked by the caller against the session, as before.
   */
  #remember(token: string, claims: AccessClaims, expiresAt: number): void {
    if (this.#verified.size >= VERIFIED_CACHE_SIZE) {
      this.#verified.delete(this.#verified.keys().next().value!);
    }
    this.#verified.set(token, { claims, expiresAt });
  }
}
