// Schemas shared by several routes: identifiers, text, problem answers, pagination.
// Route-specific schemas live beside their routes.

import { Type, type Static } from 'typebox';
import { problemOf, type ProblemKind } from './problems.js';

/**
 * What text a request may carry: anything but NUL, which PostgreSQL text cannot store at
 * all, and halves of UTF-16 surrogate pairs without their partner, which have no UTF-8 form
 * (the driver would quietly store U+FFFD instead). Ajv compiles patterns with the u flag, so
 * a proper pair (an emoji) is one code point and passes.
 */
const STORABLE_CHAR = '[^\\u0000\\uD800-\\uDFFF]';
const TEXT_PATTERN = `^${STORABLE_CHAR}*$`;
/** The same, holding at least one non-space character: a name of blanks names nothing. */
const NON_BLANK_TEXT_PATTERN = `^\\s*[^\\s\\u0000\\uD800-\\uDFFF]${STORABLE_CHAR}*$`;

/** One test for text that did not arrive through a schema (keys and strings inside JSON values). */
export const STORABLE_TEXT = new RegExp(TEXT_PATTERN, 'u');
export const STORABLE_TEXT_RULE = 'must not contain NUL (\\u0000) or an unpaired UTF-16 surrogate';

/** What a client is told when a Text pattern refuses its value: the pattern itself says little. */
export const TEXT_PATTERN_RULES: ReadonlyMap<string, string> = new Map([
  [TEXT_PATTERN, STORABLE_TEXT_RULE],
  [NON_BLANK_TEXT_PATTERN, 'must hold a non-space character, and no NUL (\\u0000) or unpaired UTF-16 surrogate'],
]);

export interface TextOptions {
  readonly minLength?: number;
  /** Required: every text a request sends is bounded. */
  readonly maxLength: number;
  /** Refuse values made only of white space. */
  readonly nonBlank?: boolean;
  readonly description?: string;
}

/** Every free-text field of a request (body, query string or path) is one of these. */
export function Text({ nonBlank = false, ...options }: TextOptions) {
  return Type.String({ ...options, pattern: nonBlank ? NON_BLANK_TEXT_PATTERN : TEXT_PATTERN });
}

export const Uuid = Type.String({ format: 'uuid', description: 'UUIDv7 identifier' });
export const Email = Type.String({ format: 'email', minLength: 3, maxLength: 320 });
export const RoleSchema = Type.Union([Type.Literal('owner'), Type.Literal('admin'), Type.Literal('member'), Type.Literal('viewer')]);
/** RFC 3339; requests must name a real instant in the years 1-9999 (see instant.ts). */
export const Timestamp = Type.String({ format: 'date-time' });
export const Password = Text({ minLength: 10, maxLength: 256, description: 'At least 10 characters' });

const PROBLEM_OPTIONS = { additionalProperties: true, description: 'RFC 9457 problem details' };

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
    request_id: Type.Optional(Type.String()),
  },
  PROBLEM_OPTIONS,
);

/** Where problems() keeps the codes a route names, for problem-responses.ts to list. */
export const PROBLEM_CODES_KEY = 'x-problem-codes';

/**
 * The error answers a route gives beyond those its declaration implies (problem-responses.ts
 * derives validation, credential, tenant, rate-limit and database answers): a status, or a
 * problem code, which names its status and is listed in the document.
 */
export function problems(...declared: (number | ProblemKind)[]): Record<number, typeof Problem> {
  const codes = new Map<number, string[]>();
  for (const item of declared) {
    if (typeof item === 'number') codes.set(item, codes.get(item) ?? []);
    else {
      const { status, code } = problemOf(item);
      codes.set(status, [...(codes.get(status) ?? []), code]);
    }
  }
  return Object.fromEntries(
    [...codes].map(([status, named]) => [
      status,
      named.length === 0 ? Problem : Type.Object(Problem.properties, { ...PROBLEM_OPTIONS, [PROBLEM_CODES_KEY]: named }),
    ]),
  );
}

export const UserIdParams = Type.Object({ userId: Uuid }, { additionalProperties: false });
export const IdParams = Type.Object({ id: Uuid }, { additionalProperties: false });
export type IdParams = Static<typeof IdParams>;
