// JSON values a request may have stored in a jsonb column (usage event properties, flag
// values): checked whole by an Ajv keyword, so a bad value is a 400 naming where it sits.

import type { FuncKeywordDefinition, SchemaValidateFunction } from 'ajv';
import { Type, type TSchemaOptions } from 'typebox';
import { STORABLE_TEXT, STORABLE_TEXT_RULE } from './common-schemas.js';

export const STORED_JSON_KEYWORD = 'x-stored-json';

/**
 * Deeper values are refused: JSON.stringify and PostgreSQL's jsonb parser both recurse, and
 * a 1 MiB body of brackets would exhaust either stack (a 500) before it reached the table.
 */
export const MAX_JSON_DEPTH = 32;

interface JsonProblem {
  /** JSON pointer from the checked value to the offending part. */
  readonly pointer: string;
  readonly message: string;
}

/**
 * Why the value cannot be stored as jsonb, or undefined when it can. jsonb refuses \u0000
 * (SQLSTATE 22P05) in strings and keys alike; an unpaired surrogate has no UTF-8 form; and
 * a number JSON.parse read as Infinity would be stored as null.
 */
export function storedJsonProblem(value: unknown): JsonProblem | undefined {
  // Iterative on purpose: a recursive walk is what the depth limit protects against.
  const pending: { value: unknown; pointer: string; depth: number }[] = [{ value, pointer: '', depth: 0 }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const { value: current, pointer, depth } = next;
    if (typeof current === 'string') {
      if (!STORABLE_TEXT.test(current)) return { pointer, message: STORABLE_TEXT_RULE };
    } else if (typeof current === 'number') {
      if (!Number.isFinite(current)) return { pointer, message: 'must be a finite number' };
    } else if (typeof current === 'object' && current !== null) {
      if (depth >= MAX_JSON_DEPTH) return { pointer, message: `must not nest more than ${MAX_JSON_DEPTH} levels deep` };
      for (const [key, child] of Object.entries(current)) {
        if (!STORABLE_TEXT.test(key)) return { pointer, message: 'must not have a key that contains NUL (\\u0000) or an unpaired UTF-16 surrogate' };
        pending.push({ value: child, pointer: `${pointer}/${key}`, depth: depth + 1 });
      }
    }
  }
  return undefined;
}

const validate: SchemaValidateFunction = (enabled: boolean, data: unknown, _schema, context) => {
  if (!enabled) return true;
  const problem = storedJsonProblem(data);
  if (!problem) return true;
  validate.errors = [
    { keyword: STORED_JSON_KEYWORD, instancePath: `${context?.instancePath ?? ''}${problem.pointer}`, message: problem.message, params: {} },
  ];
  return false;
};

/** Registered on every request validator (validation.ts). */
export const storedJsonKeyword: FuncKeywordDefinition = { keyword: STORED_JSON_KEYWORD, schemaType: 'boolean', errors: true, validate };

const RULES = `strings and keys without NUL (\\u0000) or unpaired surrogates, finite numbers, at most ${MAX_JSON_DEPTH} levels deep`;

/** Any JSON value that jsonb can store unchanged. */
export function StoredJson(options: TSchemaOptions = {}) {
  return Type.Unknown({ ...options, [STORED_JSON_KEYWORD]: true, description: `${options.description ?? 'Any JSON'}: ${RULES}` });
}

/** A JSON object (string keys, any values) that jsonb can store unchanged. */
export function StoredJsonObject(options: TSchemaOptions = {}) {
  return Type.Record(Type.String(), Type.Unknown(), { ...options, [STORED_JSON_KEYWORD]: true, description: `${options.description ?? 'A JSON object'}: ${RULES}` });
}
