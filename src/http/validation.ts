// Request validation: bodies are JSON only and checked strictly (no type coercion, unknown
// fields rejected); path and query strings are coerced, since they arrive as text.

import { Ajv, type Options } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifyInstance, FastifySchema } from 'fastify';
import { isInstant } from './instant.js';
import { storedJsonKeyword } from './stored-json.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

function ajv(options: Options): Ajv {
  const instance = addFormats(new Ajv({ allErrors: false, useDefaults: true, removeAdditional: false, strict: false, ...options }));
  // ajv-formats' date-time lets through what handlers cannot use: leap seconds (new Date()
  // reads them as Invalid Date) and year 0 (which timestamptz refuses).
  instance.addFormat('date-time', { type: 'string', validate: isInstant });
  instance.addKeyword(storedJsonKeyword);
  return instance;
}

/** A request body's validator outside Fastify (the CLI checks its options as POST bodies are checked). */
export function compileBodyValidator(schema: object) {
  return ajv({ coerceTypes: false }).compile(schema);
}

export function registerValidation(app: FastifyInstance): void {
  // Fastify parses text/plain by default; a string body would then fail the schema with a
  // misleading 400. Without the parser any non-JSON body is a 415 before validation.
  app.removeContentTypeParser('text/plain');
  const strict = ajv({ coerceTypes: false });
  const coercing = ajv({ coerceTypes: 'array' });
  app.setValidatorCompiler<FastifySchema>(({ schema, httpPart }) =>
    httpPart === 'body' ? strict.compile(schema) : coercing.compile(schema),
  );
}
