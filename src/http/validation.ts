// Request validation with two Ajv instances: bodies are checked strictly (no type coercion,
// unknown fields rejected); path and query strings are coerced, since they arrive as text.

import { Ajv, type Options } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifyInstance, FastifySchema } from 'fastify';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

function ajv(options: Options): Ajv {
  return addFormats(new Ajv({ allErrors: false, useDefaults: true, removeAdditional: false, strict: false, ...options }));
}

export function registerValidation(app: FastifyInstance): void {
  const strict = ajv({ coerceTypes: false });
  const coercing = ajv({ coerceTypes: 'array' });
  app.setValidatorCompiler<FastifySchema>(({ schema, httpPart }) =>
    httpPart === 'body' ? strict.compile(schema) : coercing.compile(schema),
  );
}
