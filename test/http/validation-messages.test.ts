// A value outside a fixed set is answered once, with the values allowed, wherever the set is:
// every enumerated query parameter the OpenAPI document declares, and fields of bodies.

import { Ajv } from 'ajv';
import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fieldProblems } from '../../src/http/validation-messages.js';
import { bearer, expectProblem, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { operationsOf, type JsonSchema } from '../support/openapi-cases.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const ADMIN_TOKEN = 'platform-admin-token-for-validation-messages-0123456789';
let testApp: TestApp;
let tenant: SignedUpTenant;

beforeAll(async () => {
  testApp = await startTestApp({ TENANTRY_PLATFORM_ADMIN_TOKEN: ADMIN_TOKEN });
  tenant = await signUp(testApp.app);
});

afterAll(async () => {
  await testApp.close();
});

/** The values a schema allows when it is a fixed set (enum, or a union of constants and null); undefined otherwise. */
function fixedValues(schema: JsonSchema): unknown[] | undefined {
  if (schema.enum) return schema.enum;
  if (!schema.anyOf) return undefined;
  // The document spells a constant as a one-value enum (OpenAPI 3.0 style).
  const values = schema.anyOf.map((branch) => branch.enum ?? (branch.const !== undefined ? [branch.const] : branch.type === 'null' ? [null] : undefined));
  return values.every(Boolean) ? values.flatMap((value) => value!) : undefined;
}

describe('a value outside a fixed set', () => {
  it('is answered with one error per field listing the allowed values, on every enumerated query parameter', async () => {
    const document = (await testApp.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const enumerated = operationsOf(document).flatMap((operation) =>
      operation.parameters
        .filter((parameter) => parameter.in === 'query' && fixedValues(parameter.schema))
        .map((parameter) => ({ operation, parameter, values: fixedValues(parameter.schema)! })),
    );
    expect(enumerated.map(({ parameter }) => parameter.name)).toContain('granularity');
    for (const { operation, parameter, values } of enumerated) {
      const url = `${operation.path.replace(/\{\w+\}/g, '01900000-0000-7000-8000-000000000001')}?${parameter.name}=nope`;
      const headers = bearer(operation.path.startsWith('/v1/admin/') ? ADMIN_TOKEN : tenant.accessToken);
      const response = await testApp.app.inject({ method: operation.method as 'GET', url, headers });
      const problem = expectProblem(response, 400, 'validation-failed');
      const expected = `must be one of ${values.map((value) => JSON.stringify(value)).join(', ')}`;
      expect({ url, errors: problem.errors }).toEqual({ url, errors: [{ field: `querystring.${parameter.name}`, message: expected }] });
    }
  });

  it('names the granularities a usage report takes', async () => {
    const response = await testApp.app.inject({ method: 'GET', url: '/v1/usage?granularity=week', headers: bearer(tenant.accessToken) });
    expect(expectProblem(response, 400, 'validation-failed').detail).toBe('querystring.granularity must be one of "hour", "day"');
  });

  it('names the roles an invitation may give', async () => {
    const response = await testApp.app.inject({
      method: 'POST',
      url: '/v1/members',
      headers: bearer(tenant.accessToken),
      payload: { email: 'someone@example.test', role: 'boss' },
    });
    expect(expectProblem(response, 400, 'validation-failed').errors).toEqual([
      { field: 'body.role', message: 'must be one of "owner", "admin", "member", "viewer"' },
    ]);
  });
});

describe('fieldProblems', () => {
  const ajv = new Ajv({ allErrors: false, strict: false });

  it('folds a nested nullable union of constants into one message, and keeps other unions as Ajv said them', () => {
    const validate = ajv.compile(
      Type.Object({
        outer: Type.Object({ color: Type.Union([Type.Literal('red'), Type.Literal('blue'), Type.Null()]) }),
        size: Type.Optional(Type.Union([Type.Integer(), Type.Literal('auto')])),
      }),
    );
    expect(validate({ outer: { color: 'green' } })).toBe(false);
    expect(fieldProblems(validate.errors!, 'body')).toEqual([{ field: 'body.outer.color', message: 'must be one of "red", "blue", null' }]);
    expect(validate({ outer: { color: 'red' }, size: 'big' })).toBe(false);
    expect(fieldProblems(validate.errors!, 'body')).toEqual([
      { field: 'body.size', message: 'must be integer' },
      { field: 'body.size', message: 'must be "auto"' },
      { field: 'body.size', message: 'must match a schema in anyOf' },
    ]);
  });
});
