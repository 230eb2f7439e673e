// The floor of bench:peers: what a team would write by hand with Fastify and pg. No auth, no
// transaction, no role switch, no RLS (it logs in as the superuser, whom RLS never binds): the
// tenant comes from the X-Tenant-ID header and the SELECT is Tenantry's GET /v1/tasks?limit=50,
// character for character, with the tenant predicate written by hand. Same JSON as Tenantry's
// taskView, and the same cursor: the last row's creation time to the microsecond, which a Date
// cannot hold, so timestamps arrive as the text PostgreSQL prints (in UTC) and each is parsed
// with node-postgres's own parser, as it would have been, and the cursor's taken from the text.
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
/** node-postgres's own timestamptz parser, run by the handler instead of the pool. */
const parseTimestamptz = pg.types.getTypeParser(TIMESTAMPTZ, 'text') as (text: string) => Date;
const types = { getTypeParser: (oid: number, format?: string) => (oid === TIMESTAMPTZ ? (text: string) => text : pg.types.getTypeParser(oid, format as 'text')) };

/** The cursor's time: the UTC text '2026-12-05 05:51:48.2751+00' as '2026-12-05T05:51:48.275100Z'. */
function microseconds(text: string): string {
  const fraction = text.length > 22 ? text.slice(20, text.length - 3) : '';
  return `${text.slice(0, 10)}T${text.slice(11, 19)}.${fraction.padEnd(6, '0')}Z`;
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
          createdAt: parseTimestamptz(task.created_at).toISOString(),
          updatedAt: parseTimestamptz(task.updated_at).toISOString(),
        })),
        nextCursor:
          rows.length > limit && last
            ? Buffer.from(JSON.stringify([microseconds(last.created_at), last.id, 'desc'])).toString('base64url')
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
