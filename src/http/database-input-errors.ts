// A safety net under request validation: when PostgreSQL refuses a value as data (SQLSTATE
// class 22, e.g. a NUL in text, an impossible date), the request was bad, not the server.

import { problemBody, type ProblemBody } from './problems.js';

const DATA_EXCEPTION = /^22[0-9A-Z]{3}$/;

/**
 * Class 22 codes that only our own statements can raise (arithmetic on stored numbers,
 * our own arrays and sequences): a bug, so they stay a 500.
 */
const RAISED_BY_OUR_OWN_STATEMENTS = new Set([
  '22012', // division_by_zero
  '2202E', // array_subscript_error
  '2200H', // sequence_generator_limit_exceeded
]);

/** How many wrappers (AppError and others set `cause`) to look through for the driver's error. */
const MAX_CAUSES = 8;

function sqlState(error: unknown): string | undefined {
  let current = error;
  for (let depth = 0; depth <= MAX_CAUSES && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && DATA_EXCEPTION.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * The 400 for an error PostgreSQL raised over a value the request sent, or undefined. The
 * detail is generic on purpose: the driver's message quotes the value and the SQL.
 */
export function databaseInputProblem(error: unknown): ProblemBody | undefined {
  const code = sqlState(error);
  if (!code || RAISED_BY_OUR_OWN_STATEMENTS.has(code)) return undefined;
  return problemBody('validation-failed', 'a value in the request cannot be stored or compared by the database');
}
