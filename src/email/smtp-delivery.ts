// Delivery through an SMTP server with nodemailer. The ledger is read before and written
// after the hand-off: a message already recorded is not sent again. A crash between the
// server's acceptance and the ledger write sends it once more under the same Message-ID, the
// one duplicate SMTP cannot rule out (it has no idempotent submit); receivers that dedupe by
// Message-ID see one message.

import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import type { SmtpSettings } from '../config.js';
import { messageIdHeader, type AddressedEmail, type DeliveryOutcome, type EmailDb, type EmailDelivery } from './email-delivery.js';

/** A send that has not finished by then fails (and is retried): the relay bounds each delivery too. */
const SMTP_TIMEOUT_MS = 8_000;

function transportOptions(smtp: SmtpSettings): SMTPTransport.Options {
  const timeouts = { connectionTimeout: SMTP_TIMEOUT_MS, greetingTimeout: SMTP_TIMEOUT_MS, socketTimeout: SMTP_TIMEOUT_MS };
  if ('url' in smtp) return { url: smtp.url, ...timeouts } as SMTPTransport.Options;
  return {
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    ...(smtp.user ? { auth: { user: smtp.user, pass: smtp.pass ?? '' } } : {}),
    ...timeouts,
  };
}

export class SmtpDelivery implements EmailDelivery {
  readonly #transport: Transporter;

  constructor(
    private readonly db: EmailDb,
    smtp: SmtpSettings,
  ) {
    // nodemailer logs nothing unless asked: message bodies (with their tokens) never reach a log.
    this.#transport = nodemailer.createTransport(transportOptions(smtp) as SMTPTransport.Options);
  }

  async deliver(email: AddressedEmail): Promise<DeliveryOutcome> {
    const sent = await this.db.service('email: check the delivery ledger', (tx) =>
      tx.selectFrom('email_deliveries').select('message_id').where('message_id', '=', email.messageId).executeTakeFirst(),
    );
    if (sent) return 'already-sent';
    await this.#transport.sendMail({
      messageId: messageIdHeader(email.messageId, email.from),
      from: email.from,
      to: email.to,
      subject: email.subject,
      text: email.text,
      html: email.html,
    });
    await this.db.service('email: record a delivery', (tx) =>
      tx.insertInto('email_deliveries').values({ message_id: email.messageId }).onConflict((conflict) => conflict.column('message_id').doNothing()).execute(),
    );
    return 'sent';
  }
}
