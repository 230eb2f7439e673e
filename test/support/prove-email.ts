// Proves a person's email address the way they would: the verification email Tenantry queued
// at sign-up is delivered to the local mailbox and its link followed. Only email messages of
// the outbox are delivered here (the relay later finds them sent), so tests that watch other
// outbox topics see them untouched.

import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { testAppOf } from './test-app.js';

export async function proveEmail(app: FastifyInstance, email: string): Promise<void> {
  const { database, services } = testAppOf(app);
  const verified = await database.admin.query(
    `SELECT 1 FROM verified_emails v JOIN users u ON u.id = v.user_id WHERE lower(u.email) = lower($1) AND v.email = lower($1)`,
    [email],
  );
  if (verified.rowCount) return;
  const { rows } = await database.admin.query(
    `SELECT tenant_id, id, topic, payload, attempts FROM outbox WHERE topic = 'email.send' AND dead_at IS NULL ORDER BY created_at, id`,
  );
  for (const row of rows) {
    await services.email.outboxConsumer({ tenantId: row.tenant_id, id: row.id, topic: row.topic, payload: row.payload, attempts: row.attempts });
  }
  const { rows: mails } = await database.admin.query(
    `SELECT text_body FROM email_mailbox WHERE lower(recipient) = lower($1) AND subject LIKE 'Confirm your email address%'
     ORDER BY created_at DESC, id DESC LIMIT 1`,
    [email],
  );
  const token = /\/verify-email\?token=([A-Za-z0-9_-]+)/.exec(mails[0]?.text_body ?? '')?.[1];
  if (!token) throw new Error(`no verification email to ${email}`);
  const response = await app.inject({ method: 'POST', url: '/v1/auth/verify-email', payload: { token } });
  if (response.statusCode !== 200) throw new Error(`verifying ${email} failed: ${response.statusCode} ${response.body}`);
}

/** A connection that may read email_mailbox (a test database's admin). */
export type Mailbox = Pick<pg.ClientBase, 'query'>;

/** The token of the newest sign-up link mailed to `email` (sign-up mail is sent at once, not queued). */
export async function signUpLinkToken(app: FastifyInstance, email: string, mailbox: Mailbox = testAppOf(app).database.admin): Promise<string> {
  const { rows } = await mailbox.query(
    `SELECT text_body FROM email_mailbox WHERE lower(recipient) = lower($1) AND text_body LIKE '%/complete-sign-up?token=%'
     ORDER BY created_at DESC, id DESC LIMIT 1`,
    [email],
  );
  const token = /\/complete-sign-up\?token=([A-Za-z0-9_-]+)/.exec(rows[0]?.text_body ?? '')?.[1];
  if (!token) throw new Error(`no sign-up link mailed to ${email}`);
  return token;
}
