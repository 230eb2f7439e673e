// PrivacyTables (src/privacy/privacy-tables.ts) held to the migrated catalog, as every module's
// hand-written row types are (see test/db/row-types.test.ts).

import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TENANT_COLUMN } from '../../src/db/tenant-tables.js';
import { TEST_REGISTRY } from '../support/modules.js';
import { rowTypeDrift } from '../support/row-types/row-type-drift.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { PRIVACY_RELATIONS } from './support/privacy-relations.js';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

describe("the privacy module's row types", () => {
  it('PrivacyTables declares its tables, and only those', async () => {
    const drift = await rowTypeDrift(database.admin, {
      file: fileURLToPath(new URL('../../src/privacy/privacy-tables.ts', import.meta.url)),
      interfaceName: 'PrivacyTables',
      declares: (relation) => PRIVACY_RELATIONS.has(relation),
      filledOnInsert: (relation, column) => column === TENANT_COLUMN && TEST_REGISTRY.tenantTables.has(relation),
    });
    expect(drift).toEqual([]);
  });
});
