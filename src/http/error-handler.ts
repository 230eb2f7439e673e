// Turns every error into an RFC 9457 problem+json answer. Client mistakes get a 4xx that
// says what was wrong; database faults a 503; anything unexpected is logged and becomes a bare 500.

import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { databaseInputProblem } from './database-input-errors.js';
import { AppError, problemBody, type ProblemCode } from './problems.js';
import { otherMethodsOf } from './route-methods.js';
import { serviceFault } from './service-faults.js';
import { fieldProblems } from './validation-messages.js';

const FASTIFY_CODES: Record<string, ProblemCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed-json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'malformed-json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload-too-large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported-media-type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'validation-failed',
  FST_ERR_BAD_URL: 'bad-url',
  FST_ERR_INVALID_URL: 'bad-url',
  FST_ERR_MAX_PARAM_LENGTH: 'uri-too-long',
};

function send(reply: FastifyReply, request: FastifyRequest, body: ReturnType<typeof problemBody>) {
  return reply
    .code(body.status)
    .type('application/problem+json')
    .send({ ...body, instance: request.url.split('?')[0], request_id: request.id });
}

/** Any error as a problem+json answer: Tenantry's error handler, also used for errors before routing. */
export function answerProblem(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  // A database that is down, stalled or saturated is a 503 to retry, not a bug (500).
  if (!(error instanceof AppError)) error = (serviceFault(error) ?? error) as FastifyError;
  if (error instanceof AppError) {
    if (error.cause) {
      // A client mistake the database caught (a unique violation becomes 409) is expected:
      // one line naming the SQLSTATE and constraint, no stack. Faults (5xx) keep the whole error.
      const { code: sqlstate, constraint } = error.cause as { code?: unknown; constraint?: unknown };
      if (error.status < 500) request.log.info({ code: error.code, sqlstate, constraint }, error.message);
      else request.log.warn({ err: error.cause, code: error.code }, error.message);
    }
    const retryAfter = error.extra.retry_after;
    if (typeof retryAfter === 'number' && !reply.hasHeader('retry-after')) reply.header('Retry-After', retryAfter);
    return send(reply, request, problemBody(error.problem, error.detail, error.extra));
  }
  if (error.validation) {
    const errors = fieldProblems(error.validation, error.validationContext);
    const detail = errors.map((e) => `${e.field} ${e.message}`).join('; ');
    return send(reply, request, problemBody('validation-failed', detail, { errors }));
  }
  const refusedInput = databaseInputProblem(error);
  if (refusedInput) {
    request.log.info({ sqlstate: error.code }, 'the database refused a value from the request');
    return send(reply, request, refusedInput);
  }
  const mapped = error.code ? FASTIFY_CODES[error.code] : undefined;
  if (mapped) return send(reply, request, problemBody(mapped, error.message));
  if (error instanceof SyntaxError) return send(reply, request, problemBody('malformed-json', error.message));
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    request.log.info({ code: error.code, status: error.statusCode, reason: error.message }, 'client error');
    if (error.statusCode === 400 || error.statusCode === 404) {
      return send(reply, request, problemBody(error.statusCode === 404 ? 'not-found' : 'validation-failed', error.message));
    }
    // Any other client error Fastify raises: RFC 9457's "about:blank", so type and status agree.
    const status = error.statusCode;
    return send(reply, request, { type: 'about:blank', title: STATUS_CODES[status] ?? 'Client error', status, detail: error.message });
  }
  request.log.error({ err: error }, 'unhandled error');
  return send(reply, request, problemBody('internal', undefined));
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler(answerProblem);

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    const allowed = otherMethodsOf(app, request.method, path);
    if (allowed.length === 0) return send(reply, request, problemBody('route-not-found', `${request.method} ${path} is not a route`));
    reply.header('allow', allowed.join(', '));
    return send(reply, request, problemBody('method-not-allowed', `${path} answers ${allowed.join(', ')}`));
  });
}
