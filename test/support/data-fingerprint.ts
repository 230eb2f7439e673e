// A digest of every row a request can write, per table, read through the superuser pool:
// a test proves a refused request changed nothing, updates included, not only row counts.

import type pg from 'pg';
import { TEST_REGISTRY } from './modules.js';

/** The registered modules' tenant tables. */
const TENANT_TABLE_ORDER = [...TEST_REGISTRY.tenantTables];

/** Tables requests write, and what each may gain without a request asking for it. */
const WRITTEN: Record<string, string | undefined> = {
  tenants: undefined,
  users: undefined,
  memberships: undefined,
  invitations: undefined,
  api_keys: undefined,
  sessions: undefined,
  projects: undefined,
  project_members: undefined,
  tasks: undefined,
  agents: undefined,
  memories: undefined,
  memory_versions: undefined,
  memory_settings: undefined,
  plans: undefined,
  flag_definitions: undefined,
  flag_plan_defaults: undefined,
  flag_overrides: undefined,
  audit_log: undefined,
  platform_audit_log: undefined,
  usage_metrics: undefined,
  // Every tenant request is metered as api_calls, written a second later in the background
  // (as events only for a tenant whose plan limits API calls).
  usage_events: `metric <> 'api_calls'`,
  usage_counters: `metric <> 'api_calls'`,
  usage_warnings: `metric <> 'api_calls'`,
  // Written with a change (cache invalidation on Redis); no relay runs in a test app.
  outbox: undefined,
  webhook_endpoints: undefined,
  webhook_events: undefined,
  webhook_deliveries: undefined,
  webhook_attempts: undefined,
  // Billing's tables: written by the operator's billing routes and billing's jobs.
  billing_accounts: undefined,
  billing_invoices: undefined,
  billing_invoice_lines: undefined,
  billing_provider_events: undefined,
  billing_usage_reports: undefined,
  billing_plan_changes: undefined,
  // Export requests; the export job only runs where a worker does, which a test app has not.
  tenant_exports: undefined,
  // Erasure certificates: issued by the erasure routes in their own transaction.
  erasure_certificates: undefined,
  // Not listed: service_role_audit, which records reads by the operator as well.
};

/** Columns written in the background after a request answered, left out of their table's digest. */
const WRITTEN_LATER: Record<string, readonly string[]> = {
  // Recall reinforcement is batched and written up to a second after the recall answered.
  memories: ['recall_count', 'last_recalled_at'],
};

/** Tenant tables left out, and why. A tenant table in neither list is a decision not made yet. */
const LEFT_OUT: Record<string, string> = {
  usage_rollups: "written by the rollup job, and by the API-call meter's flush a second after each tenant request",
  usage_rollup_queue: 'follows usage_events through a trigger, and the rollup job empties it',
  realtime_sequences: 'written by the outbox relay (the realtime sequencer) only, never by a request; no relay runs in a test app',
  realtime_events: 'written by the outbox relay (the realtime sequencer) only, never by a request; no relay runs in a test app',
};

export type DataFingerprint = Record<string, string>;

export async function dataFingerprint(admin: pg.Pool): Promise<DataFingerprint> {
  const unaccounted = TENANT_TABLE_ORDER.filter((table) => !(table in WRITTEN) && !(table in LEFT_OUT));
  if (unaccounted.length > 0) throw new Error(`data-fingerprint.ts: fingerprint ${unaccounted.join(', ')}, or say why not`);
  const digests = Object.entries(WRITTEN).map(([table, keep]) => {
    const later = WRITTEN_LATER[table] ?? [];
    const text = later.length > 0 ? `(to_jsonb(row)${later.map((column) => ` - '${column}'`).join('')})::text` : 'row::text';
    return `(SELECT md5(coalesce(string_agg(${text}, '|' ORDER BY ${text}), '')) FROM ${table} AS row${keep ? ` WHERE ${keep}` : ''}) AS ${table}`;
  });
  const { rows } = await admin.query<DataFingerprint>(`SELECT ${digests.join(', ')}`);
  return rows[0]!;
}
