// Row types of the accounts module's global tables (migrations/0001-0003).

import type { ColumnType } from 'kysely';
import type { CreatedAt, NullableTimestamp } from '../db/tables.js';

export type AccountTokenPurpose = 'verify-email' | 'reset-password';

export interface AccountTokensTable {
  id: string;
  user_id: string;
  purpose: AccountTokenPurpose;
  email: string;
  token_hash: Buffer;
  expires_at: ColumnType<Date, Date | string, Date | string>;
  used_at: NullableTimestamp;
  created_at: CreatedAt;
}

export interface VerifiedEmailsTable {
  user_id: string;
  email: string;
  verified_at: CreatedAt;
}

export interface KnownDevicesTable {
  user_id: string;
  fingerprint: Buffer;
  first_seen_at: CreatedAt;
  last_seen_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** A sign-up waiting for its link to be followed (migrations/0003_signup_requests.sql). */
export interface SignupRequestsTable {
  id: string;
  token_hash: Buffer;
  email: string;
  owner_name: string;
  password_hash: string;
  tenant_name: string;
  slug: string;
  subdomain: string | null;
  plan: string;
  expires_at: ColumnType<Date, Date | string, Date | string>;
  used_at: NullableTimestamp;
  created_at: CreatedAt;
}

export interface AccountTables {
  account_tokens: AccountTokensTable;
  signup_requests: SignupRequestsTable;
  verified_emails: VerifiedEmailsTable;
  known_devices: KnownDevicesTable;
}
