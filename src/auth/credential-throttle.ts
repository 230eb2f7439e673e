// Throttles the public credential routes (login, refresh, invitations, sign-up) per client
// address and per email, before any argon2 work: guessing passwords stays slow, and a flood
// of logins cannot spend every tenant's CPU on hashing.

import type { FastifyReply } from 'fastify';
import { AppError } from '../http/problems.js';
import { LocalBucketStore } from '../ratelimit/token-bucket.js';

/** Attempts per minute per key; a burst of this many, then a steady trickle. */
export const CREDENTIAL_ATTEMPTS_PER_MINUTE = { perAddress: 30, perEmail: 10 } as const;

type Scope = 'address' | 'email';

const SCOPE_WORDS: Record<Scope, string> = { address: 'from this address', email: 'for this email' };

export class CredentialThrottle {
  // Per instance: behind a load balancer the allowance scales with the instance count,
  // which still bounds guessing; tenant rate limits are the ones shared through Redis.
  readonly #buckets = new LocalBucketStore();

  constructor(private readonly enabled: boolean) {}

  /**
   * Takes one attempt for the client address (and the email, when given); 429 sign-in-throttled
   * when spent. The address is request.ip: the client's own only behind a trusted proxy
   * (TENANTRY_TRUST_PROXY), else every client of an untrusted proxy shares one bucket.
   */
  admit(reply: FastifyReply, address: string, email?: string): void {
    if (!this.enabled) return;
    const checks: Array<[Scope, string, number]> = [['address', `address:${address}`, CREDENTIAL_ATTEMPTS_PER_MINUTE.perAddress]];
    if (email) checks.push(['email', `email:${email.toLowerCase()}`, CREDENTIAL_ATTEMPTS_PER_MINUTE.perEmail]);
    for (const [scope, key, perMinute] of checks) {
      const verdict = this.#buckets.takeNow(key, perMinute);
      if (!verdict.allowed) {
        reply.header('Retry-After', verdict.retryAfterSeconds);
        throw new AppError(
          'sign-in-throttled',
          `too many sign-in attempts ${SCOPE_WORDS[scope]} (${perMinute} per minute); retry in ${verdict.retryAfterSeconds} s`,
          { scope, limit: perMinute, retry_after: verdict.retryAfterSeconds },
        );
      }
    }
  }
}
