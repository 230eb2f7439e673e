// Transactional email: messages queued through the outbox in the changing unit of work, sent
// by SMTP or (by default) kept in a local mailbox the operator reads.
//
// Its tables are platform tables (no tenant_id): mail belongs to its recipient, and some mail
// (a password reset) belongs to no tenant. The service itself (TransactionalEmail) is built
// with the app's services, since the outbox relay that delivers mail is wired there.

import { fileURLToPath } from 'node:url';
import { defineModule } from '../modules/module.js';
import { platformModule } from '../platform/platform.module.js';
import type { EmailTables } from './email-tables.js';
import { mailboxRoutes, type MailboxRouteDeps } from './mailbox.routes.js';

export const emailModule = defineModule({
  name: 'email',
  dependsOn: [platformModule],
  migrations: fileURLToPath(new URL('./migrations', import.meta.url)),
  // The mailbox holds copies of what was sent: erasure deletes a person's mail (to them, or
  // naming them), and a tenant's erasure the mail sent for it. The ledger holds only ids.
  personTables: [
    { name: 'email_mailbox', identifies: { recipient: 'email' }, mentions: ['subject', 'text_body', 'html_body'], tenantColumn: 'sent_for_tenant' },
  ],
  compose: ({ db }): MailboxRouteDeps => ({ emailDb: db.withTables<EmailTables>() }),
  routes: mailboxRoutes,
});
