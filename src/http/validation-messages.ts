// What a client is told when a request fails its schema: one {field, message} per problem.
// Ajv reports a union of literals (TypeBox's enums) as one "must be equal to constant" per
// branch and a bare "must match a schema in anyOf": here they become one list of the values
// allowed; a nullable value that is neither null nor valid gets only what its type says.

import type { FastifySchemaValidationError } from 'fastify';
import { TEXT_PATTERN_RULES } from './common-schemas.js';

export interface FieldProblem {
  readonly field: string;
  readonly message: string;
}

type Issue = FastifySchemaValidationError;

/** What a client is told when a pattern refuses its value: the pattern itself says little. */
const PATTERN_RULES = new Map<string, string>(TEXT_PATTERN_RULES);

/** A pattern for a schema, with the rule a client is told when it refuses a value. */
export function explainedPattern(pattern: string, rule: string): string {
  PATTERN_RULES.set(pattern, rule);
  return pattern;
}

/** The value a failed branch of an anyOf stood for, when the branch is a single value (const, enum or null). */
function allowedBy(issue: Issue): unknown[] | undefined {
  const params = issue.params as { allowedValue?: unknown; allowedValues?: unknown[]; type?: string };
  if (issue.keyword === 'const') return [params.allowedValue];
  if (issue.keyword === 'enum') return params.allowedValues;
  if (issue.keyword === 'type' && params.type === 'null') return [null];
  return undefined;
}

export function oneOfMessage(values: readonly unknown[]): string {
  return `must be one of ${values.map((value) => JSON.stringify(value)).join(', ')}`;
}

/** Replaces the branch errors of every anyOf whose branches are all single values with one issue listing them. */
function foldEnumerations(issues: readonly Issue[]): Issue[] {
  const folded: Issue[] = [];
  let branches: { issue: Issue; values: unknown[] | undefined }[] = [];
  for (const issue of issues) {
    if (issue.keyword !== 'anyOf') {
      branches.push({ issue, values: allowedBy(issue) });
      continue;
    }
    const prefix = `${issue.schemaPath}/`;
    const own = branches.filter((branch) => branch.issue.schemaPath.startsWith(prefix));
    const rest = branches.filter((branch) => !branch.issue.schemaPath.startsWith(prefix));
    folded.push(...rest.map((branch) => branch.issue));
    branches = [];
    // A nullable value (X or null) that is not null: what X says is the whole story.
    const notNull = own.filter((branch) => !(branch.values?.length === 1 && branch.values[0] === null));
    const branchesOf = new Set(notNull.map((branch) => branch.issue.schemaPath.slice(prefix.length).split('/')[0]));
    if (own.length > 0 && own.every((branch) => branch.values)) {
      folded.push({ ...issue, message: oneOfMessage(own.flatMap((branch) => branch.values!)) });
    } else if (notNull.length < own.length && branchesOf.size === 1) {
      folded.push(...notNull.map((branch) => branch.issue));
    } else {
      folded.push(...own.map((branch) => branch.issue), issue);
    }
  }
  return [...folded, ...branches.map((branch) => branch.issue)];
}

function describe(issue: Issue, context: string): FieldProblem {
  const path = `${context}${issue.instancePath.replace(/\//g, '.')}`;
  const params = issue.params as { missingProperty?: string; additionalProperty?: string; pattern?: string; allowedValues?: unknown[] };
  const field = params.missingProperty ? `${path}.${params.missingProperty}` : params.additionalProperty ? `${path}.${params.additionalProperty}` : path;
  if (params.additionalProperty) return { field, message: 'is not an allowed field' };
  if (issue.keyword === 'enum' && params.allowedValues) return { field, message: oneOfMessage(params.allowedValues) };
  if (issue.keyword === 'const') return { field, message: `must be ${JSON.stringify((issue.params as { allowedValue?: unknown }).allowedValue)}` };
  const rule = params.pattern && PATTERN_RULES.get(params.pattern);
  return { field, message: rule || issue.message || 'is not valid' };
}

/** The field problems of a failed validation, in the order Ajv found them. */
export function fieldProblems(issues: readonly Issue[], context: string | undefined): FieldProblem[] {
  // An if/then/else adds 'must match "then" schema' after the errors that say what is missing.
  const said = issues.filter((issue) => issue.keyword !== 'if');
  return foldEnumerations(said).map((issue) => describe(issue, context ?? 'body'));
}
