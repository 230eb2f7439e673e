// Errors raised before any route runs (by the router, the body parser, Node's HTTP parser)
// are problem+json like every other error, with their own stable codes.

import { connect } from 'node:net';
import { PassThrough } from 'node:stream';
import type { Socket } from 'node:net';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerClientError } from '../../src/http/client-errors.js';
import { access } from '../../src/http/access.js';
import { bearer, expectProblem, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let testApp: TestApp;
let tenant: SignedUpTenant;

beforeAll(async () => {
  testApp = await startTestApp({ TENANTRY_BODY_LIMIT: '2048' });
  tenant = await signUp(testApp.app);
});

afterAll(async () => {
  await testApp.close();
});

function get(url: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return testApp.app.inject({ method: 'GET', url, headers: { ...bearer(tenant.accessToken), ...headers } });
}

/** problem+json with the RFC 9457 members and the request id header, as every error. */
function expectRouterProblem(response: LightMyRequestResponse, status: number, code: string): Record<string, unknown> {
  const problem = expectProblem(response, status, code);
  expect(problem).toMatchObject({ type: `https://tenantry.dev/problems/${code}`, title: expect.any(String), status });
  expect(response.headers['x-request-id']).toBe(problem.request_id);
  return problem;
}

describe('the router', () => {
  it('answers 400 bad-url for a path that is not valid percent-encoding', async () => {
    expectRouterProblem(await get('/v1/tasks/%FF%FE'), 400, 'bad-url');
  });

  it('answers 414 uri-too-long for a path parameter over 100 characters', async () => {
    expectRouterProblem(await get(`/v1/tasks/${'a'.repeat(101)}`), 414, 'uri-too-long');
  });

  it('answers a refusal of the access hook (401, 403) with the request id header too', async () => {
    const unauthenticated = await testApp.app.inject({ method: 'GET', url: '/v1/tasks' });
    expectRouterProblem(unauthenticated, 401, 'unauthenticated');
    const badToken = await testApp.app.inject({ method: 'GET', url: '/v1/tasks', headers: { authorization: 'Bearer nonsense', 'x-request-id': 'caller-id-1' } });
    expect(expectRouterProblem(badToken, 401, 'invalid-credentials').request_id).toBe('caller-id-1');
  });

  it('answers 404 route-not-found for a path no route has, with the path as instance', async () => {
    const problem = expectRouterProblem(await get('/v1/nothing-here?x=1'), 404, 'route-not-found');
    expect(problem.instance).toBe('/v1/nothing-here');
  });

  it('answers 405 method-not-allowed with an Allow header for a method the path has no route for', async () => {
    const response = await testApp.app.inject({ method: 'PUT', url: '/v1/tasks', headers: bearer(tenant.accessToken) });
    expectRouterProblem(response, 405, 'method-not-allowed');
    expect(response.headers.allow).toBe('GET, HEAD, POST');
  });

  it('answers 405 to OPTIONS, listing the methods the path answers', async () => {
    const response = await testApp.app.inject({ method: 'OPTIONS', url: `/v1/tasks/${tenant.userId}` });
    expectRouterProblem(response, 405, 'method-not-allowed');
    expect(response.headers.allow).toBe('GET, HEAD, PATCH, DELETE');
  });

  it('answers HEAD of an unknown path with the 404 problem headers and no body', async () => {
    const response = await testApp.app.inject({ method: 'HEAD', url: '/v1/nothing-here' });
    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body).toBe('');
  });

  it('answers 404, not 405, when a route of the same method finds nothing (a missing file under /docs)', async () => {
    const response = await testApp.app.inject({ method: 'GET', url: '/docs/static/no-such-file.js' });
    expectRouterProblem(response, 404, 'route-not-found');
  });

});

describe('an asynchronous route constraint that fails', () => {
  let constrained: TestApp;

  /** A strategy whose derivation fails, as a broken one would; Fastify runs it on every request. */
  function addFailingConstraint(app: FastifyInstance): void {
    const strategy = {
      name: 'failing',
      storage() {
        const stores = new Map<string, unknown>();
        return { get: (value: string) => stores.get(value) ?? null, set: (value: string, store: unknown) => void stores.set(value, store) };
      },
      deriveConstraint: (_request: unknown, _context: unknown, done: (error: Error | null) => void) => done(new Error('strategy down')),
      mustMatchWhenDerived: true,
    };
    app.addConstraintStrategy(strategy as unknown as Parameters<FastifyInstance['addConstraintStrategy']>[0]);
    app.get('/test/constrained', { constraints: { failing: 'on' }, config: { access: access.public } }, async () => ({ ok: true }));
  }

  beforeAll(async () => {
    constrained = await startTestApp({}, { extend: addFailingConstraint });
  });

  afterAll(async () => {
    await constrained.close();
  });

  it('answers 500 internal as problem+json, without detail, and logs the cause', async () => {
    const response = await constrained.app.inject({ method: 'GET', url: '/test/constrained' });
    const problem = expectRouterProblem(response, 500, 'internal');
    expect(problem.detail).toBeUndefined();
    expect(constrained.logs()).toContain('FST_ERR_ASYNC_CONSTRAINT');
  });
});

describe('the body parser', () => {
  function post(payload: string, headers: Record<string, string>): Promise<LightMyRequestResponse> {
    return testApp.app.inject({ method: 'POST', url: '/v1/projects', payload, headers: { ...bearer(tenant.accessToken), ...headers } });
  }

  it('answers 400 malformed-json for a body that does not parse', async () => {
    expectRouterProblem(await post('{"name":', { 'content-type': 'application/json' }), 400, 'malformed-json');
  });

  it('answers 400 validation-failed for a Content-Length the body does not match', async () => {
    expectRouterProblem(await post('{"name":"abcdef"}', { 'content-type': 'application/json', 'content-length': '5' }), 400, 'validation-failed');
  });

  it('answers 413 payload-too-large for a body over the limit', async () => {
    expectRouterProblem(await post(JSON.stringify({ name: 'x'.repeat(4096) }), { 'content-type': 'application/json' }), 413, 'payload-too-large');
  });

  it('answers 415 unsupported-media-type for a body that is not JSON', async () => {
    expectRouterProblem(await post('name=x', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'unsupported-media-type');
  });
});

describe("Node's HTTP parser", () => {
  /** Writes raw bytes to a listening server and returns everything it answers. */
  async function exchange(port: number, request: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      const socket = connect(port, '127.0.0.1', () => socket.write(request));
      socket.on('data', (chunk) => chunks.push(chunk));
      socket.on('error', reject);
      socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
  }

  function problemIn(raw: string): { status: number; contentType: string | undefined; body: Record<string, unknown> } {
    const [head, body] = raw.split('\r\n\r\n');
    return {
      status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head!)?.[1]),
      contentType: /content-type: ([^\r]+)/i.exec(head!)?.[1],
      body: JSON.parse(body!),
    };
  }

  it('answers 400 malformed-request and 431 header-too-large as problem+json on a real connection', async () => {
    await testApp.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = testApp.app.server.address() as { port: number };

    const malformed = problemIn(await exchange(port, 'GET /v1/plans HTTP/1.1\r\nHost: x\r\nX-Bad: a\u0001b\r\n\r\n'));
    expect(malformed).toMatchObject({ status: 400, contentType: expect.stringMatching(/^application\/problem\+json/) });
    expect(malformed.body).toMatchObject({ type: 'https://tenantry.dev/problems/malformed-request', status: 400, title: expect.any(String) });

    const oversized = problemIn(await exchange(port, `GET /v1/plans HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`));
    expect(oversized.body).toMatchObject({ type: 'https://tenantry.dev/problems/header-too-large', status: 431 });
  });

  it('answers 408 request-timeout when a request does not arrive in time', () => {
    const socket = new PassThrough();
    const written: string[] = [];
    socket.on('data', (chunk) => written.push(String(chunk)));
    socket.on('error', () => {}); // the handler destroys the socket with the error, as Node's own does
    answerClientError(Object.assign(new Error('timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }), socket as unknown as Socket);
    const [head, body] = written.join('').split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(head).toMatch(/content-type: application\/problem\+json/i);
    expect(JSON.parse(body!)).toMatchObject({ type: 'https://tenantry.dev/problems/request-timeout', status: 408 });
  });
});
