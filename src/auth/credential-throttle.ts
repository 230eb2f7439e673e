// Throttles the public credential routes (login, refresh, invitations, sign-up) per client
// address and per email, before any argon2 work: guessing passwords stays slow, and a flood
// of logins cannot spend every tenant's CPU on hashing.

import type { FastifyReply } from 'fastify';
import { AppError } from '../http/problems.js';
import { LocalBucketStore } from '../ratelimit/token-bucket.js';

/** Attempts per minute per key; a burst of this many, then a steady trickle. */
export const CREDENTIAL_ATTEMPTS_PER_MINUTE = { perAddress: 30, perEmail: 10 } as const;

export class CredentialThrottle {
  // Per instance: behind a load balancer the allowance scales with the instance count,
  // which still bounds guessing; tenant rate limits are the ones shared through Redis.
  readonly #buckets = new LocalBucketStore();

  constructor(private readonly enabled: boolean) {}

  /** Takes one attempt for the client address (and the email, when given); 429 when spent. */
  admit(reply: FastifyReply, address: string, email?: string): void {
    if (!this.enabled) return;
    const checks: Array<[string, number]> = [[`address:${address}`, CREDENTIAL_ATTEMPTS_PER_MINUTE.perAddress]];
    if (email) checks.push([`email:${email.toLowerCase()}`, CREDENTIAL_ATTEMPTS_PER_MINUTE.perEmail]);
    for (const [key, perMinute] of checks) {
      const verdict = this.#buckets.takeNow(key, perMinute);
      if (!verdict.allowed) {
        reply.header('Retry-After', verdict.retryAfterSeconds);
        throw new AppError('rate-limited', 'too many sign-in attempts; try again later', {
          limit: perMinute,
          retry_after: verdict.retryAfterSeconds,
        });
      }
    }
  }
}
