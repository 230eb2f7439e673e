// The RateLimit-* headers every limited response carries, and Retry-After on a refusal:
// the same for the per-tenant and the per-user limits, so clients can back off either alike.

import type { FastifyReply } from 'fastify';
import type { BucketDecision } from './token-bucket.js';

export function sendRateLimitHeaders(reply: FastifyReply, verdict: BucketDecision): void {
  reply.header('RateLimit-Limit', verdict.limit);
  reply.header('RateLimit-Remaining', verdict.remaining);
  reply.header('RateLimit-Reset', verdict.resetSeconds);
  if (!verdict.allowed) reply.header('Retry-After', verdict.retryAfterSeconds);
}
