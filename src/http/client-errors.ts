// Errors on a connection before Fastify has a request (HTTP that does not parse, headers
// over Node's limit, a request that does not arrive in time): answered as problem+json too.

import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { PROBLEMS, problemBody, type ProblemCode } from './problems.js';

function codeFor(error: NodeJS.ErrnoException): ProblemCode {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'request-timeout';
  if (error.code === 'HPE_HEADER_OVERFLOW') return 'header-too-large';
  return 'malformed-request';
}

/** Fastify's clientErrorHandler: the only answer written straight to the socket. */
export function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  // A reset connection has no one to answer; a response already under way must not get a second.
  const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
  if (error.code !== 'ECONNRESET' && socket.writable && !inFlight) {
    const code = codeFor(error);
    const { status } = PROBLEMS[code];
    const body = JSON.stringify(problemBody(code, undefined));
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/problem+json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
