// The email module's service: a use case queues a message inside its unit of work (it goes
// out if and only if the change commits, even if the process dies right after), and the
// outbox relay delivers it. The outbox row holds the message sealed, and its id is the
// message's ledger key, so redelivering the row sends nothing twice.

import type { Logger } from 'pino';
import { platformTx, type Tx } from '../db/database.js';
import { newId } from '../db/ids.js';
import type { Tables } from '../db/tables.js';
import type { OutboxConsumer } from '../outbox/outbox-message.js';
import { recordEffect } from '../outbox/record-effect.js';
import type { DeliveryOutcome, EmailDelivery } from './email-delivery.js';
import type { EmailSealer } from './email-sealing.js';
import type { OutgoingEmail } from './outgoing-email.js';

export const EMAIL_TOPIC = 'email.send';

export interface TransactionalEmailOptions {
  readonly delivery: EmailDelivery;
  readonly sealer: EmailSealer;
  readonly from: string;
  readonly logger: Logger;
}

export class TransactionalEmail {
  constructor(private readonly options: TransactionalEmailOptions) {}

  /**
   * Queues `email` in the unit of work `tx` of `tenantId` (inside db.service(), the tenant it
   * is sent for).
   */
  async queue<DB extends Tables>(tx: Tx<DB>, tenantId: string, email: OutgoingEmail): Promise<void> {
    await recordEffect(platformTx(tx), tenantId, { topic: EMAIL_TOPIC, payload: { sealed: this.options.sealer.seal(email) } });
  }

  /**
   * Sends at once, outside any unit of work: for mail that belongs to no tenant and records no
   * change (a password reset request), where losing it to a crash costs only a retry.
   */
  sendNow(email: OutgoingEmail): Promise<DeliveryOutcome> {
    return this.#deliver(newId(), email);
  }

  /** The relay's consumer of EMAIL_TOPIC. */
  readonly outboxConsumer: OutboxConsumer = async (message) => {
    const sealed = (message.payload as { sealed?: unknown } | null)?.sealed;
    if (typeof sealed !== 'string') throw new Error(`outbox message of "${EMAIL_TOPIC}" holds no sealed email`);
    await this.#deliver(message.id, this.options.sealer.open(sealed), message.tenantId);
  };

  async #deliver(messageId: string, email: OutgoingEmail, tenantId?: string): Promise<DeliveryOutcome> {
    const outcome = await this.options.delivery.deliver({ ...email, messageId, from: this.options.from, tenantId });
    // The subject and body may hold tokens: the log names the message, never its content or address.
    this.options.logger.info({ email_message_id: messageId, outcome }, 'email delivered');
    return outcome;
  }
}
