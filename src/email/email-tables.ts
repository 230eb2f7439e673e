// Row types of the email module's platform tables (migrations/0001_email.sql). Only the
// service role reads or writes them.

import type { CreatedAt } from '../db/tables.js';

export interface EmailDeliveriesTable {
  message_id: string;
  sent_at: CreatedAt;
}

export interface EmailMailboxTable {
  id: string;
  message_id: string;
  sender: string;
  recipient: string;
  subject: string;
  text_body: string;
  html_body: string;
  /** The tenant the message was sent for; null for mail of no tenant (migrations/0002). */
  sent_for_tenant: string | null;
  created_at: CreatedAt;
}

export interface EmailTables {
  email_deliveries: EmailDeliveriesTable;
  email_mailbox: EmailMailboxTable;
}
