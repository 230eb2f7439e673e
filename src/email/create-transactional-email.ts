// Picks the delivery the configuration names: SMTP when a server is configured, else the
// local mailbox in the database.

import type { Logger } from 'pino';
import type { JwtKeyConfig, MailConfig } from '../config.js';
import type { Database } from '../db/database.js';
import type { EmailTables } from './email-tables.js';
import { EmailSealer, emailSealingKey } from './email-sealing.js';
import { MailboxDelivery } from './mailbox-delivery.js';
import { SmtpDelivery } from './smtp-delivery.js';
import { TransactionalEmail } from './transactional-email.js';

export function createTransactionalEmail(mail: MailConfig, jwt: JwtKeyConfig, db: Database, logger: Logger): TransactionalEmail {
  const emailDb = db.withTables<EmailTables>();
  const delivery = mail.smtp ? new SmtpDelivery(emailDb, mail.smtp) : new MailboxDelivery(emailDb);
  return new TransactionalEmail({ delivery, sealer: new EmailSealer(emailSealingKey(jwt)), from: mail.from, logger });
}
