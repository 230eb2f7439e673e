// Seeds a tenant with a row in every registered tenant table (src/db/tenant-tables.ts)
// straight through a superuser connection, so isolation tests that say "every tenant table"
// have a row of each tenant to find, or to fail to hide. A table added to the registry
// without a row here makes seeding fail, naming it.

import { randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { newId } from '../../src/db/ids.js';
import { tenantRowCounts } from './row-counts.js';
import { TEST_REGISTRY } from './modules.js';

/** The registered modules' tenant tables. */
const TENANT_TABLE_ORDER = [...TEST_REGISTRY.tenantTables];

export interface SeededTenant {
  readonly tenantId: string;
  readonly userId: string;
  readonly projectId: string;
  readonly taskId: string;
  readonly apiKeyId: string;
  readonly invitationId: string;
  readonly flagOverrideId: string;
  readonly auditLogId: string;
  readonly agentId: string;
  readonly memoryId: string;
  readonly invoiceId: string;
  /** The usage event's idempotency key; the event also queues itself for rollup. */
  readonly usageEventKey: string;
  readonly webhookEndpointId: string;
  readonly webhookDeliveryId: string;
  readonly label: string;
}

/**
 * Usage rows sit in a period long past (and the event under a key no client sends), so
 * they never meet the usage a test creates through the API.
 */
const LONG_AGO = '2000-01-01T00:00:00Z';

export async function seedTenant(admin: pg.Pool, label: string): Promise<SeededTenant> {
  const tenantId = newId();
  const userId = newId();
  const projectId = newId();
  const taskId = newId();
  const apiKeyId = newId();
  const invitationId = newId();
  const flagOverrideId = newId();
  const auditLogId = newId();
  const usageEventKey = `seed-${label}`;
  const agentId = newId();
  const memoryId = newId();
  const invoiceId = newId();
  const slug = `${label.toLowerCase()}-${randomUUID().slice(0, 8)}`;
  await admin.query(
    `WITH t AS (INSERT INTO tenants (id, name, slug) VALUES ($1, $2, $3)),
          u AS (INSERT INTO users (id, email, name) VALUES ($4, $5, $2))
     SELECT 1`,
    [tenantId, `Tenant ${label}`, slug, userId, `${slug}@example.test`],
  );
  await admin.query(`INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, 'owner')`, [tenantId, userId]);
  await admin.query(
    `INSERT INTO api_keys (tenant_id, id, prefix, secret_hash, name, created_by) VALUES ($1, $2, $3, '\\x00', 'key', $4)`,
    [tenantId, apiKeyId, randomUUID().replace(/-/g, '').slice(0, 16), userId],
  );
  await admin.query(`INSERT INTO projects (tenant_id, id, name) VALUES ($1, $2, $3)`, [tenantId, projectId, `secret-project-${label}`]);
  await admin.query(`INSERT INTO project_members (tenant_id, project_id, user_id) VALUES ($1, $2, $3)`, [tenantId, projectId, userId]);
  await admin.query(
    `INSERT INTO tasks (tenant_id, id, project_id, title, assignee_id) VALUES ($1, $2, $3, $4, $5)`,
    [tenantId, taskId, projectId, `secret-task-${label}`, userId],
  );
  await admin.query(
    `INSERT INTO invitations (tenant_id, id, email, role, token_hash, invited_by, expires_at)
     VALUES ($1, $2, $3, 'member', $4, $5, now() + interval '7 days')`,
    [tenantId, invitationId, `invitee-${slug}@example.test`, randomBytes(32), userId],
  );
  await admin.query(`INSERT INTO flag_overrides (tenant_id, id, flag_key, value, created_by) VALUES ($1, $2, 'dark_mode', 'true', $3)`, [
    tenantId,
    flagOverrideId,
    `user:${userId}`,
  ]);
  await admin.query(
    `INSERT INTO audit_log (tenant_id, id, actor, action, target, after) VALUES ($1, $2, 'seed', 'seed.created', $3, '{}')`,
    [tenantId, auditLogId, `secret-audit-${label}`],
  );
  // The insert trigger queues the event in usage_rollup_queue as well.
  await admin.query(
    `INSERT INTO usage_events (tenant_id, idempotency_key, metric, quantity, occurred_at) VALUES ($1, $2, 'api_calls', 1, $3)`,
    [tenantId, usageEventKey, LONG_AGO],
  );
  await admin.query(
    `INSERT INTO usage_rollups (tenant_id, metric, granularity, bucket_start, event_count, quantity_sum, quantity_max)
     VALUES ($1, 'api_calls', 'hour', $2, 1, 1, 1)`,
    [tenantId, LONG_AGO],
  );
  await admin.query(`INSERT INTO usage_counters (tenant_id, metric, period_start, used) VALUES ($1, 'tasks', $2, 1)`, [tenantId, LONG_AGO]);
  await admin.query(
    `INSERT INTO usage_warnings (tenant_id, metric, period_start, threshold, used, limit_value) VALUES ($1, 'tasks', $2, 80, 1, 1)`,
    [tenantId, LONG_AGO],
  );
  await admin.query(`INSERT INTO outbox (tenant_id, id, topic, payload) VALUES ($1, gen_random_uuid(), 'seed.effect', $2)`, [tenantId, { secret: `secret-outbox-${label}` }]);
  // Agent memory: an agent, its memory (updated once, so it has a version) and the tenant's settings.
  await admin.query(`INSERT INTO agents (tenant_id, id, name, metadata) VALUES ($1, $2, $3, $4)`, [tenantId, agentId, `secret-agent-${label}`, { owner: label }]);
  await admin.query(
    `INSERT INTO memories (tenant_id, id, agent_id, content, tags, metadata, version, idempotency_key)
     VALUES ($1, $2, $3, $4, $5, $6, 2, $7)`,
    [tenantId, memoryId, agentId, `secret memory of tenant ${label} about release plans`, [`secret-tag-${label}`], { about: label }, `secret-key-${label}`],
  );
  await admin.query(
    `INSERT INTO memory_versions (tenant_id, id, memory_id, version, content, importance, tags, written_at)
     VALUES ($1, $2, $3, 1, $4, 0.5, '{}', now() - interval '1 day')`,
    [tenantId, newId(), memoryId, `secret first version of tenant ${label}`],
  );
  await admin.query(
    `INSERT INTO memory_settings (tenant_id, relevance_weight, importance_weight, recency_weight, frequency_weight, recency_half_life_hours, duplicate_threshold)
     VALUES ($1, 0.5, 0.2, 0.2, 0.1, 24, 0.9)`,
    [tenantId],
  );
  // Billing: the tenant's account, a paid invoice of a period long past and its plan line.
  await admin.query(`INSERT INTO billing_accounts (tenant_id, id, provider, customer_ref) VALUES ($1, $2, 'local', $3)`, [
    tenantId,
    newId(),
    `secret-customer-${label}-${randomUUID().slice(0, 8)}`,
  ]);
  await admin.query(
    `INSERT INTO billing_invoices (tenant_id, id, period_start, period_end, plan, status, total_cents, issued_at, paid_at)
     VALUES ($1, $2, $3, $3::timestamptz + interval '1 month', 'free', 'paid', 0, now(), now())`,
    [tenantId, invoiceId, LONG_AGO],
  );
  await admin.query(
    `INSERT INTO billing_invoice_lines (tenant_id, id, invoice_id, position, kind, description, quantity, amount_cents)
     VALUES ($1, $2, $3, 0, 'plan', $4, 1, 0)`,
    [tenantId, newId(), invoiceId, `secret-line-${label}`],
  );
  await admin.query(
    `INSERT INTO billing_provider_events (tenant_id, id, provider, event_id, event_type, event_created_at, applied)
     VALUES ($1, $2, 'stripe', $3, 'invoice.paid', now(), true)`,
    [tenantId, newId(), `evt_${label}_${randomUUID().slice(0, 8)}`],
  );
  await admin.query(
    `INSERT INTO billing_usage_reports (tenant_id, id, invoice_id, metric, period_start, period_end, quantity, identifier)
     VALUES ($1, $2, $3, 'api_calls', $4, $4::timestamptz + interval '1 month', 5, $5)`,
    [tenantId, newId(), invoiceId, LONG_AGO, `tnty_${label}_${randomUUID().slice(0, 8)}`],
  );
  await admin.query(
    `INSERT INTO billing_plan_changes (tenant_id, id, from_plan, to_plan, changed_at) VALUES ($1, $2, 'free', 'free', $3)`,
    [tenantId, newId(), LONG_AGO],
  );

  // Outbound webhooks: an endpoint (its sealed secret a stand-in), an event, its delivery and one attempt.
  const webhookEndpointId = newId();
  const webhookEventId = newId();
  const webhookDeliveryId = newId();
  await admin.query(`INSERT INTO webhook_endpoints (tenant_id, id, url, secret_ciphertext) VALUES ($1, $2, $3, $4)`, [
    tenantId,
    webhookEndpointId,
    `https://hooks.example.com/secret-${label}`,
    `v1:seed:seed:secret-webhook-${label}`,
  ]);
  await admin.query(`INSERT INTO webhook_events (tenant_id, id, type, data) VALUES ($1, $2, 'webhook.test', $3)`, [tenantId, webhookEventId, { secret: `secret-event-${label}` }]);
  await admin.query(`INSERT INTO webhook_deliveries (tenant_id, id, event_id, endpoint_id, status, attempts) VALUES ($1, $2, $3, $4, 'failed', 1)`, [
    tenantId,
    webhookDeliveryId,
    webhookEventId,
    webhookEndpointId,
  ]);
  await admin.query(
    `INSERT INTO webhook_attempts (tenant_id, id, delivery_id, attempt, outcome, status_code, duration_ms, response_body) VALUES ($1, $2, $3, 1, 'failed', 500, 12, $4)`,
    [tenantId, newId(), webhookDeliveryId, `secret-answer-${label}`],
  );

  // Privacy: a finished export's bookkeeping row (the archive itself is not in the database).
  await admin.query(
    `INSERT INTO tenant_exports (tenant_id, id, status, requested_by, expires_at, failure) VALUES ($1, $2, 'failed', $3, now() + interval '1 day', $4)`,
    [tenantId, newId(), userId, `secret-export-${label}`],
  );

  // Realtime: the tenant's sequence and one retained event.
  await admin.query(`INSERT INTO realtime_sequences (tenant_id, last_seq) VALUES ($1, 1)`, [tenantId]);
  await admin.query(
    `INSERT INTO realtime_events (tenant_id, seq, outbox_id, channel, type, data) VALUES ($1, 1, gen_random_uuid(), 'tasks', 'task.created', $2)`,
    [tenantId, { id: taskId, secret: `secret-event-${label}` }],
  );

  const counts = await tenantRowCounts(admin, tenantId);
  const empty = TENANT_TABLE_ORDER.filter((table) => counts[table] === 0);
  if (empty.length > 0) throw new Error(`seedTenant wrote no row in ${empty.join(', ')}: give every tenant table a row in test/support/seed.ts`);
  return {
    tenantId,
    userId,
    projectId,
    taskId,
    apiKeyId,
    invitationId,
    flagOverrideId,
    auditLogId,
    agentId,
    memoryId,
    invoiceId,
    usageEventKey,
    webhookEndpointId,
    webhookDeliveryId,
    label,
  };
}
