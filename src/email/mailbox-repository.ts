// Reads of the local mailbox, newest first. Service role only: it holds every tenant's mail.

import type { Tx } from '../db/database.js';
import { keysetPage, type Page, type PagePosition } from '../db/keyset-page.js';
import type { Tables } from '../db/tables.js';
import type { Selectable } from 'kysely';
import type { EmailMailboxTable, EmailTables } from './email-tables.js';

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
  /** Where the previous page ended. */
  readonly after?: PagePosition | undefined;
}

const NEWEST_FIRST = { at: 'created_at', id: 'id' } as const;

export async function unsafeReadMailbox(tx: Tx<Tables & EmailTables>, query: MailboxQuery): Promise<Page<MailboxMessage>> {
  let select = tx.selectFrom('email_mailbox').selectAll();
  if (query.to) select = select.where((eb) => eb(eb.fn('lower', ['recipient']), '=', query.to!.toLowerCase()));
  const page = await keysetPage(select, NEWEST_FIRST, { limit: query.limit, sort: 'desc', after: query.after });
  return { rows: page.rows.map(messageOf), next: page.next };
}

function messageOf(row: Selectable<EmailMailboxTable>): MailboxMessage {
  return {
    id: row.id,
    messageId: row.message_id,
    from: row.sender,
    to: row.recipient,
    subject: row.subject,
    text: row.text_body,
    html: row.html_body,
    createdAt: row.created_at,
  };
}
