// Runs the invoices app: Tenantry's platform modules plus the invoices module, on the embedded
// PostgreSQL unless DATABASE_URL names one. `npx tsx examples/invoices/src/main.ts`.

import { createLogger, loadConfig, platformModules, startServer } from 'tenantry';
import { buildInvoicesApp } from './app.js';
import { invoicesModule } from './invoices.module.js';

const config = loadConfig();
const logger = createLogger(config.logLevel);
const server = await startServer(config, logger, { modules: [...platformModules, invoicesModule], build: buildInvoicesApp });
logger.info({ address: server.address }, 'invoices app listening');
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void server.stop().then(() => process.exit(0)));
