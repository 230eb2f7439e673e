// Responses are serialized from schemas rewritten for output (src/http/serialization.ts): every
// JSON response schema the server documents must write exactly the JSON its schema as written
// writes, for values that take each branch of each union; and the rewrite must reach the hot
// shapes (a nullable id, a status) without touching unions it cannot flatten.

import fastJsonStringify, { type Schema } from 'fast-json-stringify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forOutput } from '../../src/http/serialization.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

type JsonSchema = Record<string, unknown>;

const SOME_ID = '01900000-0000-7000-8000-000000000001';

/** Strings that between them match every format and pattern of the server's response schemas. */
const STRING_CANDIDATES = [
  'text with "quotes", \\ and \u2028',
  'owner@example.test',
  'https://example.test/help',
  '#12ab34',
  'Europe/Paris',
  'en-GB',
  'usage.warning',
  'tasks:read',
  'plan_key',
  'erased-0123456789abcdef',
  'A'.repeat(43),
];

function sampleString(s: JsonSchema): string {
  if (s.format === 'date-time') return '2026-12-03T10:27:18.123Z';
  if (s.format === 'uuid') return SOME_ID;
  const pattern = typeof s.pattern === 'string' ? new RegExp(s.pattern, 'u') : undefined;
  const fits = (candidate: string) =>
    (!pattern || pattern.test(candidate)) &&
    (s.format !== 'email' || candidate.includes('@')) &&
    (s.format !== 'uri' || candidate.startsWith('https://'));
  const found = STRING_CANDIDATES.find(fits);
  if (found === undefined) throw new Error(`no sample string fits ${JSON.stringify(s)}`);
  return found;
}

/**
 * A value of `schema`, taking branch `variant % n` of every union (so variants 0..n-1 visit each
 * branch) and every property, optional or not.
 */
function sample(schema: unknown, variant: number): unknown {
  if (typeof schema !== 'object' || schema === null) return null;
  const s = schema as JsonSchema;
  const branches = (s.anyOf ?? s.oneOf) as unknown[] | undefined;
  if (branches) return sample({ ...s, anyOf: undefined, oneOf: undefined, ...(branches[variant % branches.length] as JsonSchema) }, variant);
  if (Array.isArray(s.allOf)) return Object.assign({}, ...s.allOf.map((part) => sample(part, variant)));
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum)) return s.enum[variant % s.enum.length];
  const type = Array.isArray(s.type) ? s.type[variant % s.type.length] : s.type;
  switch (type) {
    case 'object': {
      const properties = (s.properties ?? {}) as Record<string, unknown>;
      return Object.fromEntries(Object.entries(properties).map(([name, sub]) => [name, sample(sub, variant)]));
    }
    case 'array':
      return [sample(s.items, variant), sample(s.items, variant + 1)];
    case 'string':
      return sampleString(s);
    case 'integer':
      return 7 + variant;
    case 'number':
      return 1.5 + variant;
    case 'boolean':
      return variant % 2 === 0;
    case 'null':
      return null;
    default:
      return { any: 'value' };
  }
}

/** How many unions a schema holds, anywhere in it. */
function unionCount(schema: unknown): number {
  if (typeof schema !== 'object' || schema === null) return 0;
  return (('anyOf' in schema ? 1 : 0) + Object.values(schema).reduce<number>((sum, value) => sum + unionCount(value), 0));
}

let testApp: TestApp;
let schemas: Array<{ where: string; schema: JsonSchema }>;

beforeAll(async () => {
  testApp = await startTestApp();
  const document = (await testApp.app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
    paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: JsonSchema }> }> }>>;
  };
  schemas = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).flatMap(([method, operation]) =>
      Object.entries(operation.responses).flatMap(([status, response]) => {
        const json = response.content?.['application/json']?.schema;
        return json ? [{ where: `${method.toUpperCase()} ${path} ${status}`, schema: json }] : [];
      }),
    ),
  );
});

afterAll(async () => {
  await testApp.close();
});

describe('response serialization', () => {
  it('writes the same JSON as the schemas as written, for every branch of every union of every response', () => {
    let flattened = 0;
    for (const { where, schema } of schemas) {
      const written = fastJsonStringify(schema as unknown as Schema);
      const rewritten = forOutput(schema);
      const serialize = fastJsonStringify(rewritten as Schema);
      if (unionCount(rewritten) < unionCount(schema)) flattened++;
      for (let variant = 0; variant < 4; variant++) {
        const value = sample(schema, variant);
        let expected: string;
        try {
          expected = written(value);
        } catch (error) {
          throw new Error(`${where}, variant ${variant}: the sample does not fit the schema as written`, { cause: error });
        }
        expect(serialize(value), `${where}, variant ${variant}`).toBe(expected);
      }
    }
    expect(schemas.length).toBeGreaterThan(50);
    expect(flattened).toBeGreaterThan(20);
  });

  it('turns a nullable id and a union of literals into lists of types, and leaves the schema given alone', () => {
    const status = { anyOf: [{ type: 'string', const: 'todo' }, { type: 'string', const: 'done' }] };
    const assignee = { anyOf: [{ type: 'string', format: 'uuid' }, { type: 'null' }], description: 'nobody when null' };
    const schema = { type: 'object', properties: { rows: { type: 'array', items: { type: 'object', properties: { status, assignee } } } } };
    const before = JSON.stringify(schema);

    expect(forOutput(schema)).toEqual({
      type: 'object',
      properties: {
        rows: {
          type: 'array',
          items: {
            type: 'object',
            properties: { status: { type: 'string' }, assignee: { type: ['string', 'null'], format: 'uuid', description: 'nobody when null' } },
          },
        },
      },
    });
    expect(JSON.stringify(schema)).toBe(before);
  });

  it('keeps a union whose branches an output type list cannot tell apart', () => {
    const keep = [
      { anyOf: [{ type: 'object', properties: { a: { type: 'string' } } }, { type: 'null' }] },
      { anyOf: [{ type: 'integer' }, { type: 'number' }] },
      { anyOf: [{ type: 'string', format: 'date-time' }, { type: 'string', format: 'date' }] },
      { anyOf: [{ $ref: 'Problem#' }, { type: 'null' }] },
      { anyOf: [{ type: 'array', items: { type: 'string' } }, { type: 'string' }] },
    ];
    for (const schema of keep) expect(forOutput(schema)).toEqual(schema);
  });

  it('writes a value outside a flattened union by its JSON type, as a field of one type is written', () => {
    const serialize = fastJsonStringify(
      forOutput({ type: 'object', properties: { status: { anyOf: [{ type: 'string', const: 'todo' }, { type: 'string', const: 'done' }] } } }) as Schema,
    );
    expect(serialize({ status: 'done' })).toBe('{"status":"done"}');
    expect(serialize({ status: 'other' })).toBe('{"status":"other"}');
  });
});
