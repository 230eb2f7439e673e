// Response serialization: fast-json-stringify, as Fastify's default, but each response schema is
// first rewritten for output. fast-json-stringify serializes an `anyOf` by running an Ajv
// validator on the value against each branch until one matches: a nullable id
// (`Type.Union([Uuid, Type.Null()])`) or a status (a union of string literals) costs one to three
// validator calls per field per row, a quarter of the time spent serializing a page of 50 tasks.
// To write JSON only a value's JSON type matters, so an `anyOf` whose branches are all scalar
// types becomes the list of those types, which fast-json-stringify tells apart with `typeof`.
// A value outside the union (a status no branch names) is then written by its JSON type, as a
// field of one type always is, instead of failing the response. Request validation and the
// OpenAPI document keep the schemas as written.

import fastJsonStringify, { type Schema } from 'fast-json-stringify';
import type { FastifyInstance } from 'fastify';

type JsonSchema = Record<string, unknown>;

const SCALAR_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'null']);

/** Keywords a scalar branch may carry that change nothing in the JSON written for a value of its type. */
const OUTPUT_NEUTRAL = new Set([
  'type', 'const', 'enum', 'description', 'title', 'examples', 'default', 'deprecated', 'readOnly', 'writeOnly',
  'minLength', 'maxLength', 'pattern', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf',
]);

/** Keywords whose value is one schema, a list of schemas or a map of schemas: walked into. */
const SUBSCHEMA = new Set(['items', 'additionalProperties', 'not', 'if', 'then', 'else', 'contains', 'propertyNames']);
const SUBSCHEMA_LISTS = new Set(['anyOf', 'oneOf', 'allOf', 'prefixItems']);
const SUBSCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions']);

function isSchema(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The types of `branches` as one `type` list (and the one format they share, if any), or
 * undefined when a branch is not a plain scalar: an object, an array, a reference, a nested
 * union, or a keyword that shapes the output (a format, when two branches disagree on it).
 */
function scalarUnion(branches: readonly unknown[]): { type: string | string[]; format?: string } | undefined {
  const types: string[] = [];
  let format: string | undefined;
  for (const branch of branches) {
    if (!isSchema(branch) || typeof branch.type !== 'string' || !SCALAR_TYPES.has(branch.type)) return undefined;
    for (const keyword of Object.keys(branch)) {
      if (keyword === 'format' && (format === undefined || format === branch.format)) format = branch.format as string;
      else if (!OUTPUT_NEUTRAL.has(keyword)) return undefined;
    }
    if (!types.includes(branch.type)) types.push(branch.type);
  }
  // An integer branch rounds what it writes; beside a number branch the order of the checks would decide.
  if (types.length === 0 || (types.includes('integer') && types.includes('number'))) return undefined;
  return { type: types.length === 1 ? types[0]! : types, ...(format === undefined ? {} : { format }) };
}

/**
 * `schema` as fast-json-stringify should see it to write the same JSON: every `anyOf` of scalar
 * branches turned into a list of types, everywhere in it. Returns a copy; the schema given is
 * shared with request validation and the OpenAPI document, and is never changed.
 *
 * @example
 *   forOutput({ anyOf: [{ type: 'string', format: 'uuid' }, { type: 'null' }] })
 *   // → { type: ['string', 'null'], format: 'uuid' }
 */
export function forOutput(schema: unknown): unknown {
  if (!isSchema(schema)) return schema;
  const copy: JsonSchema = {};
  for (const [keyword, value] of Object.entries(schema)) {
    if (SUBSCHEMA.has(keyword)) copy[keyword] = Array.isArray(value) ? value.map(forOutput) : forOutput(value);
    else if (SUBSCHEMA_LISTS.has(keyword) && Array.isArray(value)) copy[keyword] = value.map(forOutput);
    else if (SUBSCHEMA_MAPS.has(keyword) && isSchema(value)) {
      copy[keyword] = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, forOutput(sub)]));
    } else copy[keyword] = value;
  }
  const union = Array.isArray(copy.anyOf) && copy.type === undefined ? scalarUnion(copy.anyOf) : undefined;
  if (union && (copy.format === undefined || union.format === undefined)) {
    const { anyOf: _branches, ...siblings } = copy;
    return { ...siblings, ...union };
  }
  return copy;
}

/** Installs the serializer for every route of `app`'s context, shared schemas (app.addSchema) included. */
export function registerSerialization(app: FastifyInstance): void {
  app.setSerializerCompiler(({ schema }) => {
    // Compiled when the routes are readied, after every addSchema: the shared schemas are complete.
    const shared = Object.fromEntries(Object.entries(app.getSchemas()).map(([id, sub]) => [id, forOutput(sub) as Schema]));
    return fastJsonStringify(forOutput(schema) as Schema, { schema: shared });
  });
}
