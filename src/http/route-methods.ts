// Which methods a path has routes for, so a request with another method gets 405 and an
// Allow header (RFC 9110 15.5.6) where Fastify would answer 404.

import type { FastifyInstance } from 'fastify';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/**
 * The methods `path` has routes for when `method` is not one of them; empty otherwise. A
 * handler that calls reply.callNotFound() (a missing file under /docs) reaches the 404
 * handler on a route of its own method: that is a missing resource, not a wrong method.
 */
export function otherMethodsOf(app: FastifyInstance, method: string, path: string): string[] {
  const allowed: string[] = METHODS.filter((candidate) => app.findRoute({ method: candidate, url: path }) !== null);
  return allowed.includes(method) ? [] : allowed;
}
