// The modules a test app runs unless a test says otherwise: Tenantry's built-in set, task
// domain and agent memory included, and the row types its tables have (the platform's, the
// task domain's and agent memory's).

import { builtInModules } from '../../src/built-in-modules.js';
import type { Tables } from '../../src/db/tables.js';
import type { TaskTables } from '../../src/domain/tasks/task-tables.js';
import type { MemoryTables } from '../../src/memory/memory-tables.js';
import type { RealtimeTables } from '../../src/realtime/realtime-tables.js';
import { ModuleRegistry } from '../../src/modules/registry.js';
import type { WebhookTables } from '../../src/webhooks/webhook-tables.js';

export const TEST_MODULES = builtInModules;

/** The built-in modules' registry: its tenant tables are what the catalog must hold. */
export const TEST_REGISTRY = new ModuleRegistry(TEST_MODULES);

export type TestTables = Tables & TaskTables & MemoryTables & WebhookTables & RealtimeTables;
