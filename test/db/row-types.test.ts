// Tenantry's row types (src/db/tables.ts) are written by hand, narrower than a generator would
// make them, and held to the migrated catalog here: relations, columns, nulls, types, CHECKs.

import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TENANT_COLUMN, TENANT_TABLES } from '../../src/db/tenant-tables.js';
import { readCatalog } from '../support/row-types/catalog-columns.js';
import { rowTypeDrift } from '../support/row-types/row-type-drift.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

const TABLES = fileURLToPath(new URL('../../src/db/tables.ts', import.meta.url));
const DRIFTED = fileURLToPath(new URL('./fixtures/drifted-tables.ts', import.meta.url));

/**
 * Relations of the migrated schema that `Tables` leaves out, each with why: nothing queries
 * them through Kysely. (graphile-worker's tables live in schema graphile_worker, not here.)
 */
const NOT_IN_TABLES: Readonly<Record<string, string>> = {
  tenantry_migrations: "node-pg-migrate's bookkeeping, read and written by the migrator alone (src/db/migrate.ts)",
};

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

describe('Tables of src/db/tables.ts', () => {
  it('declares every table and view of the migrated schema: columns, nullability, types, CHECK-listed values, what inserts and updates may write', async () => {
    const drift = await rowTypeDrift(database.admin, {
      file: TABLES,
      interfaceName: 'Tables',
      declares: (relation) => !(relation in NOT_IN_TABLES),
      filledOnInsert: (relation, column) => column === TENANT_COLUMN && TENANT_TABLES.has(relation),
    });
    expect(drift).toEqual([]);
  });

  it('leaves out only relations that exist, each with a reason', async () => {
    const catalog = await readCatalog(database.admin, 'public');
    for (const [relation, reason] of Object.entries(NOT_IN_TABLES)) {
      expect(catalog.has(relation), relation).toBe(true);
      expect(reason.length).toBeGreaterThan(20);
    }
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
