// The routes an app serves, for suites that must reach every one of them without a list:
// the operations its OpenAPI document publishes (with their parameter and body schemas),
// and the parameterised routes Fastify routes, to prove none is served unpublished.

import type { FastifyInstance } from 'fastify';
import { operationsOf, type Operation } from './openapi-cases.js';

export type OpenApiDocument = Parameters<typeof operationsOf>[0];

/** The app's own /openapi.json and the operations it publishes. */
export async function publishedOperations(app: FastifyInstance): Promise<{ document: OpenApiDocument; operations: Operation[] }> {
  const response = await app.inject({ method: 'GET', url: '/openapi.json' });
  if (response.statusCode !== 200) throw new Error(`GET /openapi.json answered ${response.statusCode}`);
  const document = response.json() as OpenApiDocument;
  return { document, operations: operationsOf(document) };
}

/**
 * `METHOD /path` of every route Fastify serves whose path takes a parameter, in OpenAPI form
 * (/v1/tasks/{id}). Fastify lists its routes only as a printed radix tree, one node per line,
 * four columns of indentation per level, each node's text continuing its parent's path.
 */
export function servedParameterisedRoutes(app: FastifyInstance): string[] {
  const routes: string[] = [];
  const pathAt: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const node = /^((?:[│ ] {3})*)[├└]── (.+?)(?: \(([A-Z, ]+)\))?$/u.exec(line);
    if (!node) continue;
    const depth = node[1]!.length / 4;
    const path = (depth > 0 ? pathAt[depth - 1]! : '') + node[2]!;
    pathAt.length = depth;
    pathAt.push(path);
    if (!node[3] || !/[:*]/.test(path)) continue;
    const openApiPath = path.replace(/:(\w+)/g, '{$1}');
    for (const method of node[3].split(', ')) routes.push(`${method} ${openApiPath}`);
  }
  return routes;
}
