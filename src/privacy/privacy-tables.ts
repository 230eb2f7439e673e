// Row types of the privacy module's tables (migrations/0001_privacy.sql), in Tenantry's column
// vocabulary, checked against the migrated catalog by test/privacy/privacy-tables.test.ts.

import type { ColumnType, Generated } from 'kysely';
import type { CreatedAt, NullableTimestamp, TenantId, Timestamp } from '../db/tables.js';

export type ExportStatus = 'pending' | 'running' | 'ready' | 'failed' | 'expired';

export interface TenantExportsTable {
  tenant_id: TenantId;
  id: string;
  status: Generated<ExportStatus>;
  requested_by: string | null;
  storage_key: string | null;
  /** bigint: node-postgres returns it as text. */
  archive_bytes: ColumnType<string | null, number | null | undefined, number | null>;
  archive_sha256: string | null;
  /** The archive's manifest (export/export-manifest.ts) once ready. */
  manifest: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  failure: string | null;
  created_at: CreatedAt;
  finished_at: NullableTimestamp;
  expires_at: Timestamp;
  deleted_at: NullableTimestamp;
}

export type CertificateKind = 'tenant' | 'person' | 'member';

export interface ErasureCertificatesTable {
  id: string;
  kind: CertificateKind;
  subject: string;
  scope_tenant: string | null;
  requested_by: string;
  erased_at: Timestamp;
  body: ColumnType<Record<string, unknown>, string, string>;
  signature: string;
  created_at: CreatedAt;
}

export interface PrivacyTables {
  tenant_exports: TenantExportsTable;
  erasure_certificates: ErasureCertificatesTable;
}
