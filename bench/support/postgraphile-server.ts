// The GraphQL peer of bench:peers: PostGraphile 5 (Amber preset, Node's http server) on the same
// database, logged in as Tenantry's request login. Per request, pgSettings switch to Tenantry's
// app role and set app.tenant_id from the X-Tenant-ID header, so the tasks rows come through
// Tenantry's own RLS policy, PostGraphile's recommended way to scope data. Env:
// PEERS_DATABASE_URL (carrying its application_name), PEERS_POOL_SIZE, PEERS_POOL_IDLE_MS, PEERS_APP_ROLE.

import './node20-polyfills.js';
import { createServer } from 'node:http';
import pg from 'pg';
import { postgraphile } from 'postgraphile';
import { makePgService } from 'postgraphile/adaptors/pg';
import { grafserv } from 'postgraphile/grafserv/node';
import { PostGraphileAmberPreset } from 'postgraphile/presets/amber';

const appRole = process.env.PEERS_APP_ROLE!;
const pool = new pg.Pool({
  connectionString: process.env.PEERS_DATABASE_URL,
  max: Number(process.env.PEERS_POOL_SIZE),
  idleTimeoutMillis: Number(process.env.PEERS_POOL_IDLE_MS),
});

const preset: GraphileConfig.Preset = {
  extends: [PostGraphileAmberPreset],
  // By default a column orders a connection only when an index starts with it; tasks are
  // indexed by (tenant_id, created_at), which RLS supplies the first half of.
  disablePlugins: ['PgIndexBehaviorsPlugin'],
  pgServices: [
    makePgService({
      pool,
      schemas: ['public'],
      pubsub: false,
      pgSettingsForIntrospection: { role: appRole },
      pgSettings: (context) => {
        const tenantId = context.node?.req.headers['x-tenant-id'];
        return { role: appRole, 'app.tenant_id': typeof tenantId === 'string' ? tenantId : '' };
      },
    }),
  ],
  grafserv: { graphiql: false, watch: false },
  grafast: { explain: false },
};

const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
const server = createServer();
serv.addTo(server);
await serv.ready();
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('no address');
  process.stdout.write(JSON.stringify({ address: `http://127.0.0.1:${address.port}` }) + '\n');
});
process.once('SIGTERM', () => {
  server.close();
  void Promise.resolve(pgl.release()).then(() => pool.end()).then(() => process.exit(0));
});
