// Tenantry's row types (Tables of src/db/tables.ts, a module's own such as TaskTables) are written
// by hand, narrower than a generator would make them, and held to the migrated catalog here.

import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationsTableOf } from '../../src/db/migrate.js';
import { TENANT_COLUMN } from '../../src/db/tenant-tables.js';
import { billingModule } from '../../src/billing/billing.module.js';
import { tasksModule } from '../../src/domain/tasks/tasks.module.js';
import { memoryModule } from '../../src/memory/memory.module.js';
import { webhooksModule } from '../../src/webhooks/webhooks.module.js';
import { realtimeModule } from '../../src/realtime/realtime.module.js';
import { TEST_MODULES, TEST_REGISTRY } from '../support/modules.js';
import { readCatalog } from '../support/row-types/catalog-columns.js';
import { rowTypeDrift } from '../support/row-types/row-type-drift.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { PRIVACY_RELATIONS } from '../privacy/support/privacy-relations.js';

const TABLES = fileURLToPath(new URL('../../src/db/tables.ts', import.meta.url));
const TASK_TABLES = fileURLToPath(new URL('../../src/domain/tasks/task-tables.ts', import.meta.url));
const MEMORY_TABLES = fileURLToPath(new URL('../../src/memory/memory-tables.ts', import.meta.url));
const WEBHOOK_TABLES = fileURLToPath(new URL('../../src/webhooks/webhook-tables.ts', import.meta.url));
const BILLING_TABLES = fileURLToPath(new URL('../../src/billing/billing-tables.ts', import.meta.url));
const EMAIL_TABLES = fileURLToPath(new URL('../../src/email/email-tables.ts', import.meta.url));
const ACCOUNT_TABLES = fileURLToPath(new URL('../../src/accounts/account-tables.ts', import.meta.url));
const REALTIME_TABLES = fileURLToPath(new URL('../../src/realtime/realtime-tables.ts', import.meta.url));
const DRIFTED = fileURLToPath(new URL('./fixtures/drifted-tables.ts', import.meta.url));

/**
 * The relations no row-type interface declares, because nothing queries them through Kysely:
 * node-pg-migrate's record of each module's migrations, read and written by the migrator alone
 * (src/db/migrate.ts). graphile-worker's tables live in schema graphile_worker, not checked here.
 */
const BOOKKEEPING: ReadonlySet<string> = new Set(TEST_MODULES.filter((module) => module.migrations).map(migrationsTableOf));

const TASK_RELATIONS: ReadonlySet<string> = new Set((tasksModule.tenantTables ?? []).map((table) => table.name));
const MEMORY_RELATIONS: ReadonlySet<string> = new Set((memoryModule.tenantTables ?? []).map((table) => table.name));
const WEBHOOK_RELATIONS: ReadonlySet<string> = new Set((webhooksModule.tenantTables ?? []).map((table) => table.name));
const BILLING_RELATIONS: ReadonlySet<string> = new Set((billingModule.tenantTables ?? []).map((table) => table.name));
/** The email module's platform tables (no tenant_id, so not in its tenantTables). */
const EMAIL_RELATIONS: ReadonlySet<string> = new Set(['email_deliveries', 'email_mailbox']);
/** The accounts module's global tables. */
const ACCOUNT_RELATIONS: ReadonlySet<string> = new Set(['account_tokens', 'verified_emails', 'known_devices', 'signup_requests']);
const REALTIME_RELATIONS: ReadonlySet<string> = new Set((realtimeModule.tenantTables ?? []).map((table) => table.name));

/** The query layer fills tenant_id on every insert into a registered tenant table. */
const filledOnInsert = (relation: string, column: string) => column === TENANT_COLUMN && TEST_REGISTRY.tenantTables.has(relation);

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
  await database.admin.query(`
    CREATE SCHEMA drifted;
    CREATE TABLE drifted.orders (
      id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      status     text NOT NULL CHECK (status IN ('open', 'paid', 'void')),
      total      numeric NOT NULL,
      note       text,
      paid_at    timestamptz,
      placed_at  timestamptz NOT NULL,
      lines      jsonb NOT NULL,
      label      varchar(20) NOT NULL CHECK (length(label) > 0),
      wait       interval NOT NULL,
      currency   text NOT NULL DEFAULT 'EUR',
      created_at timestamptz NOT NULL DEFAULT now(),
      owner_id   uuid NOT NULL,
      due_at     timestamptz NOT NULL,
      region     text NOT NULL
    );
    CREATE TABLE drifted.refunds (id uuid PRIMARY KEY);
    CREATE VIEW drifted.open_orders AS SELECT id AS order_id, status, note, upper(note) AS shout FROM drifted.orders WHERE status = 'open';
  `);
});

afterAll(async () => {
  await database?.drop();
});

describe("the built-in modules' row types", () => {
  it('Tables declares every other table and view of the migrated schema: columns, nullability, types, CHECK-listed values, what inserts and updates may write', async () => {
    const drift = await rowTypeDrift(database.admin, {
      file: TABLES,
      interfaceName: 'Tables',
      declares: (relation) =>
        !BOOKKEEPING.has(relation) &&
        !TASK_RELATIONS.has(relation) &&
        !MEMORY_RELATIONS.has(relation) &&
        !WEBHOOK_RELATIONS.has(relation) &&
        !BILLING_RELATIONS.has(relation) &&
        !EMAIL_RELATIONS.has(relation) &&
        !ACCOUNT_RELATIONS.has(relation) &&
        !PRIVACY_RELATIONS.has(relation) &&
        !REALTIME_RELATIONS.has(relation),
      filledOnInsert,
    });
    expect(drift).toEqual([]);
  });

  it("TaskTables declares the task domain's tables, and only those", async () => {
    const drift = await rowTypeDrift(database.admin, {
      file: TASK_TABLES,
      interfaceName: 'TaskTables',
      declares: (relation) => TASK_RELATIONS.has(relation),
      filledOnInsert,
    });
    expect(drift).toEqual([]);
  });

  it("MemoryTables declares the memory module's tables, and only those", async () => {
    const drift = await rowTypeDrift(database.admin, {
      file: MEMORY_TABLES,
      interfaceName: 'MemoryTables',
      declares: (relation) => MEMORY_RELATIONS.has(relation),
      filledOnInsert,
    });
    // memories.embedding exists only where pgvector does (memory migration 0005); it is written
    // and read through the module's SQL functions, never through the row type.
    expect(drift.filter((line) => !line.startsWith('memories.embedding:'))).toEqual([]);
  });

  it("WebhookTables declares the webhooks module's tables, and only those", async () => {
    const drift = await rowTypeDrift(database.admin, {
      file: WEBHOOK_TABLES,
      interfaceName: 'WebhookTables',
      declares: (relation) => WEBHOOK_RELATIONS.has(relation),
      filledOnInsert,
    });
    expect(drift).toEqual([]);
  });

  it("EmailTables declares the email module's tables, and only those", async () => {
    const drift = await rowTypeDrift(database.admin, {
      file: EMAIL_TABLES,
      interfaceName: 'EmailTables',
      declares: (relation) => EMAIL_RELATIONS.has(relation),
      filledOnInsert,
    });
    expect(drift).toEqual([]);
  });

  it("BillingTables declares the billing module's tables, and only those", async () => {
    const drift = await rowTypeDrift(database.admin, {
      file: BILLING_TABLES,
      interfaceName: 'BillingTables',
      declares: (relation) => BILLING_RELATIONS.has(relation),
      filledOnInsert,
    });
    expect(drift).toEqual([]);
  });

  it("AccountTables declares the accounts module's global tables, and only those", async () => {
    const drift = await rowTypeDrift(database.admin, {
      file: ACCOUNT_TABLES,
      interfaceName: 'AccountTables',
      declares: (relation) => ACCOUNT_RELATIONS.has(relation),
      filledOnInsert,
    });
    expect(drift).toEqual([]);
  });

  it("RealtimeTables declares the realtime module's tables, and only those", async () => {
    const drift = await rowTypeDrift(database.admin, {
      file: REALTIME_TABLES,
      interfaceName: 'RealtimeTables',
      declares: (relation) => REALTIME_RELATIONS.has(relation),
      filledOnInsert,
    });
    expect(drift).toEqual([]);
  });

  it('leaves out only the migrations bookkeeping, one table for each module that migrates', async () => {
    const catalog = await readCatalog(database.admin, 'public');
    expect([...BOOKKEEPING].filter((relation) => !catalog.has(relation))).toEqual([]);
    expect(BOOKKEEPING.size).toBeGreaterThanOrEqual(2);
  });
});

describe('the row-type check', () => {
  it('names each disagreement between an interface and its schema', async () => {
    const drift = await rowTypeDrift(database.admin, {
      file: DRIFTED,
      interfaceName: 'DriftedTables',
      schema: 'drifted',
      filledOnInsert: (relation, column) => relation === 'orders' && column === 'owner_id',
    });
    expect(drift).toEqual([
      'archived_orders: in DriftedTables (test/db/fixtures/drifted-tables.ts) but not in the database',
      'open_orders.order_id: NOT NULL in the database, but DriftedTables has string | null',
      'open_orders.note: nullable in the database, but DriftedTables has string (no null)',
      "orders.status: a CHECK allows 'open' | 'paid' | 'void', but DriftedTables has 'open' | 'paid'",
      'orders.total: numeric in the database reads as string, but DriftedTables has number',
      'orders.note: nullable in the database, but DriftedTables has string (no null)',
      'orders.placed_at: NOT NULL in the database, but DriftedTables has Date | null',
      "orders.label: DriftedTables allows only 'large' | 'small', but no CHECK in the database lists its values",
      'orders.wait: interval in the database, a type this check has no rule for (add one to READS_AS)',
      'orders.currency: in the database (text NOT NULL) but not in DriftedTables',
      'orders.due_at: NOT NULL without a default in the database, but DriftedTables lets an insert leave it out',
      'orders.due_at: NOT NULL in the database, but DriftedTables lets an update write null',
      'orders.region: NOT NULL in the database, but DriftedTables lets an insert write null',
      'orders.shipped: in DriftedTables but not in the database',
      'refunds: a table in the database but not in DriftedTables (test/db/fixtures/drifted-tables.ts)',
    ]);
  });

  it('checks only the relations it is told the interface declares, as for a module of an adopter', async () => {
    const drift = await rowTypeDrift(database.admin, {
      file: DRIFTED,
      interfaceName: 'DriftedTables',
      schema: 'drifted',
      declares: (relation) => relation === 'orders',
    });
    expect(drift.filter((line) => line.startsWith('refunds'))).toEqual([]);
    expect(drift).toContain('orders.shipped: in DriftedTables but not in the database');
  });
});
