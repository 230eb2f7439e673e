// GET /v1/admin/mail: the platform operator reads the local mailbox (the embedded default's
// outgoing mail), newest first. With SMTP configured the mailbox stays empty.

import { Type, type Static } from 'typebox';
import type { Database } from '../db/database.js';
import type { Tables } from '../db/tables.js';
import { access } from '../http/access.js';
import { Email, problems, Timestamp, Uuid } from '../http/common-schemas.js';
import { decodeCursor, encodeCursor } from '../http/page-cursor.js';
import { Cursor, NextCursor } from '../http/page.schemas.js';
import type { ModuleRoutes } from '../modules/module.js';
import type { EmailTables } from './email-tables.js';
import { unsafeReadMailbox, type MailboxMessage } from './mailbox-repository.js';

const MailView = Type.Object({
  id: Uuid,
  messageId: Type.String(),
  from: Type.String(),
  to: Type.String(),
  subject: Type.String(),
  text: Type.String(),
  html: Type.String(),
  createdAt: Timestamp,
});

const MailboxQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'Messages per page' })),
    cursor: Cursor,
    to: Type.Optional(Email),
  },
  { additionalProperties: false },
);

function mailView(message: MailboxMessage): Static<typeof MailView> {
  return { ...message, createdAt: message.createdAt.toISOString() };
}

export interface MailboxRouteDeps {
  readonly emailDb: Database<Tables & EmailTables>;
}

export const mailboxRoutes: ModuleRoutes<MailboxRouteDeps> = async (app, { emailDb }) => {
  app.get(
    '/v1/admin/mail',
    {
      config: { access: access.platformAdmin },
      schema: {
        tags: ['platform-admin'],
        summary: 'The local mailbox (outgoing mail when no SMTP server is configured), newest first; `to` narrows to one address',
        security: [{ bearer: [] }],
        querystring: MailboxQuery,
        response: { 200: Type.Object({ data: Type.Array(MailView), nextCursor: NextCursor }), ...problems(400, 401, 403) },
      },
    },
    async (request) => {
      const { limit = 20, to, cursor } = request.query;
      const after = decodeCursor(cursor, 'desc');
      const page = await emailDb.service('platform admin: read the local mailbox', (tx) => unsafeReadMailbox(tx, { limit, to, after }));
      return { data: page.rows.map(mailView), nextCursor: page.next ? encodeCursor(page.next, 'desc') : null };
    },
  );
};
