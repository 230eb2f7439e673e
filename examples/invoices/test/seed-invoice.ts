// One invoice of a tenant, written straight through a superuser connection: what isolation
// suites that seed "a row in every registered tenant table" add for the invoices module.

import type pg from 'pg';

export async function seedInvoice(admin: pg.Pool, tenantId: string): Promise<void> {
  await admin.query(
    `INSERT INTO invoices (tenant_id, id, number, customer_email, amount_cents, currency, due_at)
     VALUES ($1, gen_random_uuid(), 'SEED-1', 'seeded-customer@example.test', 4200, 'EUR', '2030-01-01T00:00:00Z')`,
    [tenantId],
  );
}
