// The server under test for bench:isolation, in its own process so the load generator does
// not share its event loop. Adds one bench-only route: the same task list, unscoped.

import { Kysely, PostgresDialect } from 'kysely';
import { Type } from 'typebox';
import { buildApp } from '../../src/app.js';
import { systemClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { createPool } from '../../src/db/database.js';
import type { Tables } from '../../src/db/tables.js';
import { TenantScopePlugin } from '../../src/db/tenant-scope-plugin.js';
import { listTasks } from '../../src/domain/tasks/task-repository.js';
import { taskView } from '../../src/domain/tasks/tasks.routes.js';
import { access, actorOf } from '../../src/http/access.js';
import { createLogger } from '../../src/logger.js';
import { defineModule, type ModuleRoutes } from '../../src/modules/module.js';
import { createServices } from '../../src/services.js';
import { builtInModules } from '../../src/built-in-modules.js';
import type { TaskTables } from '../../src/domain/tasks/task-tables.js';

const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
const logger = createLogger(config.logLevel);
const pool = createPool(config.databaseUrl!, config.poolSize, logger);
// The baseline: the identical SQL (the tenant predicate comes from the same plugin, used here
// only to write the WHERE), run on the pool with no transaction, no role switch and no RLS.
const plain = new Kysely<Tables & TaskTables>({ dialect: new PostgresDialect({ pool }) });

// A module of its own, like any route: inside Tenantry's plugin, so the access hook builds the
// same Actor for both routes and only the data path differs.
const unscoped: ModuleRoutes<{ readonly tenantTables: ReadonlySet<string> }> = async (bench, { tenantTables }) => {
  bench.get(
    '/bench/unscoped-tasks',
    { config: { access: access.tenant('viewer') }, schema: { hide: true, querystring: Type.Object({ limit: Type.Optional(Type.Integer()) }) } },
    async (request) => {
      const tx = plain.withPlugin(new TenantScopePlugin({ tenantTables, tenantId: actorOf(request).tenantId }));
      const page = await listTasks(tx, {}, { limit: request.query.limit ?? 50, sort: 'desc' });
      return {
        data: page.rows.map(taskView),
        nextCursor: page.next ? 'more' : null,
      };
    },
  );
};
const benchModule = defineModule({ name: 'bench', compose: (services) => ({ tenantTables: services.modules.tenantTables }), routes: unscoped });
const services = createServices({ modules: [...builtInModules, benchModule], config, jwt: config.jwt!, pool, clock: systemClock, logger });
const app = await buildApp(services);
const address = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(JSON.stringify({ address }) + '\n');
process.on('SIGTERM', () => {
  void app.close().then(() => pool.end()).then(() => process.exit(0));
});
