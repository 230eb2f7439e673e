// Under request validation, a value PostgreSQL refuses as data (SQLSTATE class 22) is the
// client's mistake: 400 validation-failed with a generic detail, never 500, never the SQL.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseInputProblem } from '../../src/http/database-input-errors.js';
import { AppError } from '../../src/http/problems.js';
import { expectProblem, signUp } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/** What the pg driver throws: an Error with the SQLSTATE in `code`. */
function databaseError(code: string): Error {
  return Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code, severity: 'ERROR' });
}

describe('databaseInputProblem', () => {
  for (const code of ['22P02', '22007', '22008', '22021', '22P05', '22001', '22003', '22023', '22025']) {
    it(`makes SQLSTATE ${code} a 400 validation-failed that quotes nothing from the database`, () => {
      const problem = databaseInputProblem(databaseError(code));
      expect(problem).toMatchObject({ type: 'https://tenantry.dev/problems/validation-failed', status: 400 });
      expect(problem?.detail).not.toContain('0x00');
    });
  }

  it('finds the driver error under wrappers that set cause', () => {
    const wrapped = new Error('the unit of work failed', { cause: new AppError('conflict', 'x', {}, { cause: databaseError('22P05') }) });
    expect(databaseInputProblem(wrapped)?.status).toBe(400);
  });

  it('leaves class 22 errors only our own statements raise (division by zero) to the 500 path', () => {
    expect(databaseInputProblem(databaseError('22012'))).toBeUndefined();
  });

  it('leaves other classes (constraint violations, lost connections, Fastify codes) alone', () => {
    for (const code of ['23505', '08006', '57P01', '42P01', 'FST_ERR_BAD_URL', 'ECONNREFUSED']) {
      expect(databaseInputProblem(databaseError(code))).toBeUndefined();
    }
    expect(databaseInputProblem(new Error('plain'))).toBeUndefined();
    expect(databaseInputProblem(undefined)).toBeUndefined();
  });

  it('stops at a cycle of causes', () => {
    const first: Error & { cause?: unknown } = new Error('a');
    first.cause = new Error('b', { cause: first });
    expect(databaseInputProblem(first)).toBeUndefined();
  });
});

describe('a value only the database refuses', () => {
  let testApp: TestApp;

  beforeAll(async () => {
    testApp = await startTestApp();
  });

  afterAll(async () => {
    await testApp.close();
  });

  it('answers 400 validation-failed, not 500, when the X-Tenant-ID header holds a NUL', async () => {
    const tenant = await signUp(testApp.app);
    const response = await testApp.app.inject({
      method: 'GET',
      url: '/v1/tenant/branding',
      headers: { 'x-tenant-id': `${tenant.slug}\u0000` },
    });
    const problem = expectProblem(response, 400, 'validation-failed');
    expect(problem.detail).toBe('a value in the request cannot be stored or compared by the database');
    expect(response.body).not.toMatch(/select|0x00|UTF8/i);
    expect(testApp.logs()).toContain('the database refused a value from the request');
  });
});
