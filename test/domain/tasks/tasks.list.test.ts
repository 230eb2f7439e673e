// GET /v1/tasks: filters by project, status, assignee and text; cursor pages that neither
// repeat nor skip a row, in both orders, even when creation times tie to the microsecond.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, signUp, type SignedUpTenant } from '../../support/fixtures.js';
import { startTestApp, type TestApp } from '../../support/test-app.js';
import { taskApi, type TaskApi } from './task-api.js';

let testApp: TestApp;
let api: TaskApi;

beforeAll(async () => {
  testApp = await startTestApp();
  api = taskApi(testApp);
});

afterAll(async () => {
  await testApp.close();
});

interface Listed {
  data: { id: string; title: string; createdAt: string }[];
  nextCursor: string | null;
}

async function list(credential: string, query: string): Promise<Listed> {
  const response = await api.call(credential, 'GET', `/v1/tasks?${query}`);
  expect(response.statusCode, response.body).toBe(200);
  return response.json();
}

/** Follows nextCursor to the end and returns every id, in order. */
async function walk(credential: string, query: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 1000; pages++) {
    const page: Listed = await list(credential, `${query}${cursor ? `&cursor=${cursor}` : ''}`);
    ids.push(...page.data.map((task) => task.id));
    cursor = page.nextCursor;
    if (!cursor) return ids;
  }
  throw new Error('pagination did not end');
}

describe('filters', () => {
  let tenant: SignedUpTenant;
  let alpha: string;
  let beta: string;
  let assignee: string;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    tenant = await signUp(testApp.app);
    alpha = (await api.createProject(tenant.accessToken)).id;
    beta = (await api.createProject(tenant.accessToken)).id;
    assignee = await api.addTenantMember(tenant);
    const make = async (key: string, projectId: string, fields: Record<string, unknown>) => {
      ids[key] = (await api.createTask(tenant.accessToken, projectId, fields)).id;
    };
    await make('a1', alpha, { title: 'Fix login bug', status: 'todo', assigneeId: assignee });
    await make('a2', alpha, { title: 'Write docs', description: 'Explain the LOGIN flow', status: 'done' });
    await make('a3', alpha, { title: '100% coverage', status: 'in_progress', assigneeId: assignee });
    await make('b1', beta, { title: 'snake_case names', status: 'todo' });
    await make('b2', beta, { title: 'Release', description: 'back\\slash', status: 'done', assigneeId: assignee });
  });

  const idsOf = (page: Listed) => page.data.map((task) => task.id).sort();
  const keys = (...names: string[]) => names.map((name) => ids[name]!).sort();

  it('filters by project', async () => {
    expect(idsOf(await list(tenant.accessToken, `projectId=${alpha}`))).toEqual(keys('a1', 'a2', 'a3'));
  });

  it('filters by status', async () => {
    expect(idsOf(await list(tenant.accessToken, 'status=done'))).toEqual(keys('a2', 'b2'));
  });

  it('filters by assignee', async () => {
    expect(idsOf(await list(tenant.accessToken, `assigneeId=${assignee}`))).toEqual(keys('a1', 'a3', 'b2'));
  });

  it('searches title and description, ignoring case', async () => {
    expect(idsOf(await list(tenant.accessToken, 'q=login'))).toEqual(keys('a1', 'a2'));
  });

  it('treats %, _ and \\ in the search text literally', async () => {
    expect(idsOf(await list(tenant.accessToken, `q=${encodeURIComponent('%')}`))).toEqual(keys('a3'));
    expect(idsOf(await list(tenant.accessToken, 'q=_'))).toEqual(keys('b1'));
    expect(idsOf(await list(tenant.accessToken, `q=${encodeURIComponent('\\')}`))).toEqual(keys('b2'));
  });

  it('combines filters', async () => {
    expect(idsOf(await list(tenant.accessToken, `projectId=${alpha}&status=in_progress&assigneeId=${assignee}&q=cover`))).toEqual(
      keys('a3'),
    );
    expect(idsOf(await list(tenant.accessToken, `projectId=${beta}&status=in_progress`))).toEqual([]);
  });

  it('returns 404 for a projectId that names no live project of the tenant', async () => {
    expectProblem(await api.call(tenant.accessToken, 'GET', '/v1/tasks?projectId=01a2081f-9f83-7779-921b-000000000000'), 404, 'not-found');
  });

  it.each(['status=blocked', 'projectId=42', 'assigneeId=me', 'q=', 'limit=0', 'limit=101', 'limit=ten', 'sort=newest', 'page=2'])(
    'returns 400 for ?%s',
    async (query) => {
      expectProblem(await api.call(tenant.accessToken, 'GET', `/v1/tasks?${query}`), 400, 'validation-failed');
    },
  );
});

describe('pagination', () => {
  let tenant: SignedUpTenant;
  let created: string[];

  beforeAll(async () => {
    tenant = await signUp(testApp.app);
    const projectId = (await api.createProject(tenant.accessToken)).id;
    created = [];
    // Batches in parallel: several tasks share a transaction start time, so ties are real.
    for (let batch = 0; batch < 12; batch++) {
      const tasks = await Promise.all(Array.from({ length: 10 }, () => api.createTask(tenant.apiKey, projectId)));
      created.push(...tasks.map((task) => task.id));
    }
  });

  it('walks all 120 tasks newest first in pages of 7, with no repeats and no gaps', async () => {
    const ids = await walk(tenant.accessToken, 'limit=7');
    expect(ids).toHaveLength(120);
    expect(new Set(ids).size).toBe(120);
    expect([...ids].sort()).toEqual([...created].sort());
    const listed = await list(tenant.accessToken, 'limit=100');
    const times = listed.data.map((task) => task.createdAt);
    expect(times).toEqual([...times].sort().reverse());
  });

  it('walks them oldest first with sort=asc, the exact reverse of newest first', async () => {
    const descending = await walk(tenant.accessToken, 'limit=50');
    const ascending = await walk(tenant.accessToken, 'limit=13&sort=asc');
    expect(ascending).toEqual([...descending].reverse());
  });

  it('returns 50 rows by default and a null cursor on the last page', async () => {
    const first = await list(tenant.accessToken, '');
    expect(first.data).toHaveLength(50);
    expect(first.nextCursor).toEqual(expect.any(String));
    const last = await list(tenant.accessToken, 'limit=100&cursor=' + (await list(tenant.accessToken, 'limit=100')).nextCursor);
    expect(last).toMatchObject({ nextCursor: null });
    expect(last.data).toHaveLength(20);
  });

  it('keeps going past a task deleted between pages', async () => {
    const first = await list(tenant.accessToken, 'limit=10');
    const lastOnPage = first.data[9]!.id;
    const victim = await api.createTask(tenant.accessToken, (await api.createProject(tenant.accessToken)).id);
    await api.call(tenant.accessToken, 'DELETE', `/v1/tasks/${victim.id}`);
    await api.call(tenant.accessToken, 'DELETE', `/v1/tasks/${lastOnPage}`);
    const second = await list(tenant.accessToken, `limit=10&cursor=${first.nextCursor}`);
    expect(second.data).toHaveLength(10);
    expect(second.data.map((task) => task.id)).not.toContain(lastOnPage);
  });

  it('returns 400 for a cursor that was tampered with or belongs to the other sort order', async () => {
    const { nextCursor } = await list(tenant.accessToken, 'limit=5');
    expectProblem(await api.call(tenant.accessToken, 'GET', '/v1/tasks?cursor=not-a-cursor'), 400, 'validation-failed');
    const forged = Buffer.from(JSON.stringify(['yesterday', 'x', 'desc'])).toString('base64url');
    expectProblem(await api.call(tenant.accessToken, 'GET', `/v1/tasks?cursor=${forged}`), 400, 'validation-failed');
    expectProblem(await api.call(tenant.accessToken, 'GET', `/v1/tasks?sort=asc&cursor=${nextCursor}`), 400, 'validation-failed');
  });
});

describe('pagination over identical creation times', () => {
  it('orders ties by id and pages through them without repeats, at microsecond precision', async () => {
    const tenant = await signUp(testApp.app);
    const projectId = (await api.createProject(tenant.accessToken)).id;
    const ids = Array.from({ length: 9 }, () => crypto.randomUUID());
    // Three rows per instant, and instants one microsecond apart inside one millisecond:
    // a millisecond cursor would repeat or skip rows here.
    await testApp.database.admin.query(
      `INSERT INTO tasks (tenant_id, id, project_id, title, created_at)
       SELECT $1, id, $2, 'tied', '2030-01-01T00:00:00.123001Z'::timestamptz + (ord / 3) * interval '1 microsecond'
       FROM unnest($3::uuid[]) WITH ORDINALITY AS t(id, ord)`,
      [tenant.tenantId, projectId, ids],
    );
    const walked = await walk(tenant.accessToken, 'limit=2&q=tied');
    expect(walked).toHaveLength(9);
    expect(new Set(walked).size).toBe(9);
    const ascending = await walk(tenant.accessToken, 'limit=4&q=tied&sort=asc');
    expect(ascending).toEqual([...walked].reverse());
  });
});
