// Row types of the memory module's tables (its migrations are ./migrations), in Tenantry's
// column vocabulary, checked against the migrated catalog by test/memory/memory-tables.test.ts.
// The module's code queries through `db.withTables<MemoryTables>()`.

import type { ColumnType, Generated, GeneratedAlways } from 'kysely';
import type { Database, Tx } from '../db/database.js';
import type { CreatedAt, NullableTimestamp, Tables, TenantId, UpdatedAt } from '../db/tables.js';

export type Zone = 'core' | 'inner' | 'outer' | 'belt' | 'cloud';

/** A JSON object column that may be null (erasure empties it); written as JSON text. */
export type NullableJsonObject = ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;

export interface AgentsTable {
  tenant_id: TenantId;
  id: string;
  name: string;
  description: Generated<string>;
  metadata: NullableJsonObject;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  deleted_at: NullableTimestamp;
}

export interface MemoriesTable {
  tenant_id: TenantId;
  id: string;
  agent_id: string | null;
  content: string;
  content_bytes: GeneratedAlways<number>;
  search: GeneratedAlways<string>;
  importance: Generated<number>;
  tags: ColumnType<string[] | null, string[] | null | undefined, string[] | null>;
  metadata: NullableJsonObject;
  zone: Generated<Zone>;
  /** When the re-zoning job last moved it to another zone (memory migration 0010); null: never. */
  zoned_at: NullableTimestamp;
  orbit_score: Generated<number>;
  version: Generated<number>;
  reinforcement_count: Generated<number>;
  recall_count: Generated<number>;
  last_recalled_at: NullableTimestamp;
  idempotency_key: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  deleted_at: NullableTimestamp;
}

export interface MemoryVersionsTable {
  tenant_id: TenantId;
  id: string;
  memory_id: string;
  version: number;
  content: string;
  importance: number;
  tags: string[] | null;
  metadata: NullableJsonObject;
  written_at: ColumnType<Date, Date | string, never>;
  replaced_at: CreatedAt;
  deleted_at: NullableTimestamp;
}

export interface MemorySettingsTable {
  tenant_id: TenantId;
  relevance_weight: number;
  importance_weight: number;
  recency_weight: number;
  frequency_weight: number;
  recency_half_life_hours: number;
  duplicate_threshold: number;
  embedding_dimension: ColumnType<number | null, number | null | undefined, number | null>;
  updated_at: UpdatedAt;
  deleted_at: NullableTimestamp;
}

export interface MemoryTables {
  agents: AgentsTable;
  memories: MemoriesTable;
  memory_versions: MemoryVersionsTable;
  memory_settings: MemorySettingsTable;
}

/** The database and unit-of-work handle the memory module's code is typed against. */
export type MemoryDatabase = Database<Tables & MemoryTables>;
export type MemoryTx = Tx<Tables & MemoryTables>;
