// The embedded default: no mail server is configured, so messages land in the database's
// local mailbox, which the operator reads with `tenantry mail` or GET /v1/admin/mail. The
// mailbox row and the ledger row are one transaction, so a message is in the mailbox exactly
// once however often it is delivered.

import { newId } from '../db/ids.js';
import type { AddressedEmail, DeliveryOutcome, EmailDb, EmailDelivery } from './email-delivery.js';

export class MailboxDelivery implements EmailDelivery {
  constructor(private readonly db: EmailDb) {}

  deliver(email: AddressedEmail): Promise<DeliveryOutcome> {
    return this.db.service('email: deliver to the local mailbox', async (tx) => {
      const recorded = await tx
        .insertInto('email_deliveries')
        .values({ message_id: email.messageId })
        .onConflict((conflict) => conflict.column('message_id').doNothing())
        .returning('message_id')
        .executeTakeFirst();
      if (!recorded) return 'already-sent';
      await tx
        .insertInto('email_mailbox')
        .values({
          id: newId(),
          message_id: email.messageId,
          sender: email.from,
          recipient: email.to,
          subject: email.subject,
          text_body: email.text,
          html_body: email.html,
          sent_for_tenant: email.tenantId ?? null,
        })
        .execute();
      return 'sent';
    });
  }
}
