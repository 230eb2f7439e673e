// The floor of bench:peers: what a team would write by hand with Fastify and pg. No auth, no
// transaction, no role switch, no RLS (it logs in as the superuser, whom RLS never binds): the
// tenant comes from the X-Tenant-ID header and the SELECT is Tenantry's GET /v1/tasks?limit=50,
// character for character, with the tenant predicate written by hand. Same JSON as Tenantry's
// taskView, and the same cursor: the last row's creation time to the microsecond, which a Date
// cannot hold, so timestamps are read as the text PostgreSQL prints in UTC and rearranged.
// Env: PEERS_DATABASE_URL (carrying its application_name), PEERS_POOL_SIZE, PEERS_POOL_IDLE_MS.

import Fastify from 'fastify';
import pg from 'pg';
import { Type } from 'typebox';
import { RAW_LIST_SQL } from './raw-list-sql.js';

interface TaskRow {
  id: string;
  project_id: string;
  title: string;
  description: string;
  status: string;
  assignee_id: string | null;
  created_by: string | null;
  /** '2026-12-05 05:51:48.275123+00', as PostgreSQL prints a timestamptz in UTC. */
  created_at: string;
  updated_at: string;
}

const TIMESTAMPTZ = 1184;
const types = { getTypeParser: (oid: number, format?: string) => (oid === TIMESTAMPTZ ? (text: string) => text : pg.types.getTypeParser(oid, format as 'text')) };

/** The fraction digits of a UTC timestamp's text, padded to `digits`. */
function fraction(text: string, digits: number): string {
  return (text.length > 22 ? text.slice(20, text.length - 3) : '').padEnd(6, '0').slice(0, digits);
}

/** Date#toISOString's form: milliseconds. */
function iso(text: string): string {
  return `${text.slice(0, 10)}T${text.slice(11, 19)}.${fraction(text, 3)}Z`;
}

const Uuid = Type.String({ format: 'uuid' });
const TaskList = Type.Object({
  data: Type.Array(
    Type.Object({
      id: Uuid,
      projectId: Uuid,
      title: Type.String(),
      description: Type.String(),
      status: Type.String(),
      assigneeId: Type.Union([Uuid, Type.Null()]),
      createdBy: Type.Union([Uuid, Type.Null()]),
      createdAt: Type.String(),
      updatedAt: Type.String(),
    }),
  ),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});

async function main(): Promise<void> {
  const pool = new pg.Pool({
    connectionString: process.env.PEERS_DATABASE_URL,
    options: '-c TimeZone=UTC',
    types: types as pg.CustomTypesConfig,
    max: Number(process.env.PEERS_POOL_SIZE),
    idleTimeoutMillis: Number(process.env.PEERS_POOL_IDLE_MS),
  });
  const app = Fastify({ logger: false });
  app.get<{ Querystring: { limit?: number } }>(
    '/v1/tasks',
    { schema: { querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })) }), response: { 200: TaskList } } },
    async (request, reply) => {
      const tenantId = request.headers['x-tenant-id'];
      if (typeof tenantId !== 'string') return reply.code(400).send({ error: 'X-Tenant-ID is required' });
      const limit = request.query.limit ?? 50;
      const { rows } = await pool.query<TaskRow>(RAW_LIST_SQL, [tenantId, limit + 1]);
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return {
        data: page.map((task) => ({
          id: task.id,
          projectId: task.project_id,
          title: task.title,
          description: task.description,
          status: task.status,
          assigneeId: task.assignee_id,
          createdBy: task.created_by,
          createdAt: iso(task.created_at),
          updatedAt: iso(task.updated_at),
        })),
        nextCursor:
          rows.length > limit && last
            ? Buffer.from(JSON.stringify([`${iso(last.created_at).slice(0, 19)}.${fraction(last.created_at, 6)}Z`, last.id, 'desc'])).toString('base64url')
            : null,
      };
    },
  );
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  process.stdout.write(JSON.stringify({ address }) + '\n');
  process.on('SIGTERM', () => {
    void app.close().then(() => pool.end()).then(() => process.exit(0));
  });
}

await main();
