// Hands one message to its destination exactly once per message id. The ledger
// (email_deliveries) is the memory of what went out; the Message-ID header carries the same id,
// so a mail server or client that sees a message twice can tell it is one message.

import type { Database } from '../db/database.js';
import type { Tables } from '../db/tables.js';
import type { EmailTables } from './email-tables.js';
import type { OutgoingEmail } from './outgoing-email.js';

export interface AddressedEmail extends OutgoingEmail {
  /** The ledger key and the Message-ID's local part: stable across retries of one message. */
  readonly messageId: string;
  readonly from: string;
  /** The tenant it is sent for (queued in its unit of work); undefined for mail of no tenant. */
  readonly tenantId?: string | undefined;
}

export type DeliveryOutcome = 'sent' | 'already-sent';

/** Where email goes: an SMTP server (smtp-delivery.ts) or the local mailbox (mailbox-delivery.ts). */
export interface EmailDelivery {
  deliver(email: AddressedEmail): Promise<DeliveryOutcome>;
}

export type EmailDb = Database<Tables & EmailTables>;

/** The Message-ID header for a ledger key: the id at the sender's domain. */
export function messageIdHeader(messageId: string, from: string): string {
  const domain = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from)?.[1] ?? 'localhost';
  return `<${messageId}@${domain}>`;
}
