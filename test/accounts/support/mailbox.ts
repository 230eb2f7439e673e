// Reading what Tenantry mailed, as a person would: the relay delivers the outbox to the local
// mailbox, and the link's token is read from the plain-text part.

import type { TestApp } from '../../support/test-app.js';

export interface ReceivedMail {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/** Every message to `address` so far, oldest first, after delivering the outbox. */
export async function mailTo(testApp: TestApp, address: string): Promise<ReceivedMail[]> {
  await testApp.services.outbox.drain();
  const { rows } = await testApp.database.admin.query(
    `SELECT recipient AS to, subject, text_body AS text, html_body AS html FROM email_mailbox
     WHERE lower(recipient) = lower($1) ORDER BY created_at, id`,
    [address],
  );
  return rows;
}

/** Waits for the n-th message to `address` (work done after an answer lands a little later). */
export async function nthMailTo(testApp: TestApp, address: string, n: number, timeoutMs = 10_000): Promise<ReceivedMail> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mails = await mailTo(testApp, address);
    if (mails.length >= n) return mails[n - 1]!;
    if (Date.now() > deadline) throw new Error(`expected ${n} messages to ${address}, got ${mails.length}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The token of the link to `path` in a message. */
export function linkToken(mail: ReceivedMail, path: '/verify-email' | '/reset-password'): string {
  const match = new RegExp(`${path}\\?token=([A-Za-z0-9_-]+)`).exec(mail.text);
  if (!match) throw new Error(`no ${path} link in "${mail.subject}"`);
  return match[1]!;
}
