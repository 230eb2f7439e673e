// Quota and rate-limit problems carry retry_after in their body; this onError hook also
// sends it as the Retry-After header, wherever in the request the problem was thrown.

import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../http/problems.js';

export async function retryAfterHeader(_request: FastifyRequest, reply: FastifyReply, error: FastifyError): Promise<void> {
  const seconds = error instanceof AppError ? error.extra.retry_after : undefined;
  if (typeof seconds === 'number' && !reply.hasHeader('retry-after')) reply.header('Retry-After', seconds);
}
