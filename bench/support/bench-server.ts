// The server under test for bench:metering, in its own process so the load generator does not
// share its event loop: Tenantry's app with the built-in modules and nothing added.

import { buildApp } from '../../src/app.js';
import { builtInModules } from '../../src/built-in-modules.js';
import { systemClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { createPool } from '../../src/db/database.js';
import { createLogger } from '../../src/logger.js';
import { createServices } from '../../src/services.js';

const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
const logger = createLogger(config.logLevel);
const pool = createPool(config.databaseUrl!, config.poolSize, logger);
const services = createServices({ modules: builtInModules, config, jwt: config.jwt!, pool, clock: systemClock, logger });
const app = await buildApp(services);
const address = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(JSON.stringify({ address }) + '\n');
process.on('SIGTERM', () => {
  void app.close().then(() => pool.end()).then(() => process.exit(0));
});
