// Row types of the realtime module's tables (its migrations are ./migrations). bigint columns
// come back from node-postgres as text: a sequence is read as a string and turned into a number
// where it is used (2^53 events per tenant is beyond any retention).

import type { ColumnType } from 'kysely';
import type { Database, Tx } from '../db/database.js';
import type { CreatedAt, Json, NullableTimestamp, Tables, TenantId } from '../db/tables.js';

type Sequence = ColumnType<string, string | number, string | number>;

export interface RealtimeSequencesTable {
  tenant_id: TenantId;
  last_seq: Sequence;
  created_at: CreatedAt;
  deleted_at: NullableTimestamp;
}

export interface RealtimeEventsTable {
  tenant_id: TenantId;
  seq: Sequence;
  outbox_id: string;
  channel: string;
  type: string;
  data: Json<Record<string, unknown>>;
  agent_id: string | null;
  created_at: CreatedAt;
  deleted_at: NullableTimestamp;
}

export interface RealtimeTables {
  realtime_sequences: RealtimeSequencesTable;
  realtime_events: RealtimeEventsTable;
}

export type RealtimeDatabase = Database<Tables & RealtimeTables>;
export type RealtimeTx = Tx<Tables & RealtimeTables>;
