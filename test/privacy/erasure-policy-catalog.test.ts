// Every column that names a person has an erasure policy, and every policy can be carried out:
// read from the migrated catalog and the registered declarations, so a module that adds a
// user-referencing column without declaring it fails here, naming the column.

import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_REGISTRY } from '../support/modules.js';
import { TEST_ROLES } from '../support/roles.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

let database: TestDatabase;
let admin: pg.Pool;

beforeAll(async () => {
  database = await createTestDatabase();
  admin = database.admin;
});

afterAll(async () => {
  await database?.drop();
});

const declarations = TEST_REGISTRY.tenantTableDeclarations();

describe('erasure policies', () => {
  it('cover every column of a tenant table that references users (id): declared as naming a user, with a policy', async () => {
    const { rows } = await admin.query<{ table: string; column: string }>(`
      SELECT child.relname AS table, a.attname AS column
        FROM pg_constraint c
        JOIN pg_class child ON child.oid = c.conrelid
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)
       WHERE c.contype = 'f' AND c.confrelid = 'users'::regclass AND child.relname = ANY($1)`,
      [[...TEST_REGISTRY.tenantTables]]);
    expect(rows.length).toBeGreaterThan(5);
    const undeclared = rows.filter(({ table, column }) => {
      const declaration = declarations.find((candidate) => candidate.name === table)!;
      return declaration.identifies?.[column] !== 'user_id' || !declaration.personal?.[column];
    });
    expect(undeclared.map(({ table, column }) => `${table}.${column}`)).toEqual([]);
  });

  it('give every column declared as naming a person a policy, and delete only through such a column', () => {
    const problems: string[] = [];
    for (const table of declarations) {
      for (const column of Object.keys(table.identifies ?? {})) if (!table.personal?.[column]) problems.push(`${table.name}.${column} names a person but has no policy`);
      for (const [column, policy] of Object.entries(table.personal ?? {})) {
        if (policy === 'delete' && !table.identifies?.[column]) problems.push(`${table.name}.${column} deletes rows but names no person`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("can be carried out: 'null' columns are nullable, 'pseudonymise' columns hold text, JSON or text[], and the service role may write them", async () => {
    const problems: string[] = [];
    for (const table of declarations) {
      for (const [column, policy] of Object.entries(table.personal ?? {})) {
        const { rows } = await admin.query<{ udt_name: string; is_nullable: string; can_update: boolean; can_delete: boolean }>(
          `SELECT udt_name, is_nullable,
                  has_column_privilege($3, format('%I', table_name), column_name, 'UPDATE') AS can_update,
                  has_table_privilege($3, format('%I', table_name), 'DELETE') AS can_delete
             FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 AND column_name = $2`,
          [table.name, column, TEST_ROLES.service],
        );
        const found = rows[0];
        if (!found) {
          problems.push(`${table.name}.${column} does not exist`);
          continue;
        }
        if (policy === 'null' && found.is_nullable !== 'YES') problems.push(`${table.name}.${column} is NOT NULL but declared 'null'`);
        if (policy === 'pseudonymise' && !['text', 'varchar', 'jsonb', '_text'].includes(found.udt_name)) problems.push(`${table.name}.${column} (${found.udt_name}) cannot hold a pseudonym`);
        if (policy === 'delete' ? !found.can_delete : !found.can_update) problems.push(`the service role may not erase ${table.name}.${column}`);
      }
    }
    expect(problems).toEqual([]);
  });
});
