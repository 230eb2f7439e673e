// Reads of the local mailbox, newest first. Service role only: it holds every tenant's mail.

import type { Tx } from '../db/database.js';
import type { Tables } from '../db/tables.js';
import type { EmailTables } from './email-tables.js';

export interface MailboxMessage {
  readonly id: string;
  readonly messageId: string;
  readonly from: string;
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  readonly createdAt: Date;
}

export interface MailboxQuery {
  readonly limit: number;
  /** Only messages to this address (case-insensitive). */
  readonly to?: string | undefined;
}

export async function unsafeReadMailbox(tx: Tx<Tables & EmailTables>, query: MailboxQuery): Promise<MailboxMessage[]> {
  let select = tx.selectFrom('email_mailbox').selectAll();
  if (query.to) select = select.where((eb) => eb(eb.fn('lower', ['recipient']), '=', query.to!.toLowerCase()));
  const rows = await select.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(query.limit).execute();
  return rows.map((row) => ({
    id: row.id,
    messageId: row.message_id,
    from: row.sender,
    to: row.recipient,
    subject: row.subject,
    text: row.text_body,
    html: row.html_body,
    createdAt: row.created_at,
  }));
}
