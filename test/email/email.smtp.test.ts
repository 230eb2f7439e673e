// Email through a real SMTP server: queued in the changing unit of work, delivered by the
// outbox relay once, with a Message-ID derived from the outbox message, and never twice.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueSlug } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { enterTenant } from '../../src/tenancy/enter-tenant.js';
import { queueEmail, sampleEmail } from './support/queue-email.js';
import { startSmtpSink, type SmtpSink } from './support/smtp-sink.js';

let sink: SmtpSink;
let testApp: TestApp;
let tenant: { tenantId: string };

beforeAll(async () => {
  sink = await startSmtpSink();
  testApp = await startTestApp({ SMTP_URL: sink.url, MAIL_FROM: 'Tenantry <mail@tenantry.example>' });
  // Sign-up mails its link at once, here through the SMTP server: the owner follows it from there.
  const slug = uniqueSlug('smtp');
  const password = 'correct horse battery staple';
  const asked = await testApp.app.inject({ method: 'POST', url: '/v1/tenants', payload: { name: 'Smtp Co', slug, owner: { email: `${slug}@example.test`, password, name: 'O' } } });
  expect(asked.statusCode).toBe(202);
  const token = /complete-sign-up\?token=([A-Za-z0-9_-]+)/.exec(String((await sink.waitFor(1))[0]!.text))?.[1];
  const confirmed = await testApp.app.inject({ method: 'POST', url: '/v1/tenants/confirm', payload: { token, password } });
  expect(confirmed.statusCode).toBe(201);
  tenant = { tenantId: confirmed.json().tenant.id };
  await testApp.services.outbox.drain();
});

afterAll(async () => {
  await testApp?.close();
  await sink?.close();
});

async function outboxRows(): Promise<{ id: string; payload: unknown }[]> {
  const { rows } = await testApp.database.admin.query(`SELECT id, payload FROM outbox WHERE topic = 'email.send' ORDER BY created_at, id`);
  return rows;
}

describe('email over SMTP', () => {
  it('sends a queued email after commit, once, with a Message-ID derived from its outbox message', async () => {
    await sink.waitFor(1);
    const before = sink.received.length;
    const email = sampleEmail('alice@example.test');
    await queueEmail(testApp.services, tenant.tenantId, email);
    const [row] = await outboxRows();
    expect(row).toBeDefined();

    await testApp.services.outbox.drain();
    const received = await sink.waitFor(before + 1);
    const mail = received[before]!;
    expect(mail.messageId).toBe(`<${row!.id}@tenantry.example>`);
    expect(mail.subject).toBe('Your sign-in link');
    expect(mail.from?.value[0]).toMatchObject({ name: 'Tenantry', address: 'mail@tenantry.example' });
    expect(mail.text).toContain(email.secret);
    expect(mail.html).toContain(email.secret);
    expect(await outboxRows()).toEqual([]);

    await testApp.services.outbox.drain();
    expect(sink.received.length).toBe(before + 1);
  });

  it('delivers a redelivered outbox message only once (the sent ledger)', async () => {
    const before = sink.received.length;
    const email = sampleEmail('bob@example.test');
    await queueEmail(testApp.services, tenant.tenantId, email);
    const [row] = await outboxRows();
    const message = { tenantId: tenant.tenantId, id: row!.id, topic: 'email.send', payload: row!.payload, attempts: 0 };
    // What a relay that died after sending, before deleting the row, would do next time.
    await testApp.services.email.outboxConsumer(message);
    await testApp.services.email.outboxConsumer(message);
    await testApp.services.outbox.drain();
    await sink.waitFor(before + 1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(sink.received.length).toBe(before + 1);
  });

  it('sends nothing when the unit of work rolls back', async () => {
    const before = sink.received.length;
    await expect(
      enterTenant(tenant.tenantId, () =>
        testApp.services.db.tenant(async (tx) => {
          await testApp.services.email.queue(tx, tenant.tenantId, sampleEmail('carol@example.test'));
          throw new Error('the change failed');
        }),
      ),
    ).rejects.toThrow('the change failed');
    expect(await outboxRows()).toEqual([]);
    await testApp.services.outbox.drain();
    expect(sink.received.length).toBe(before);
  });

  it('keeps no readable token in the outbox row while the email waits', async () => {
    const email = sampleEmail('dave@example.test');
    await queueEmail(testApp.services, tenant.tenantId, email);
    const rows = await outboxRows();
    expect(rows).toHaveLength(1);
    const stored = JSON.stringify(rows[0]!.payload);
    expect(stored).not.toContain(email.secret);
    expect(stored).not.toContain('dave@example.test');
    await testApp.services.outbox.drain();
  });

  it('retries a message the server refused, and then sends it once', async () => {
    const before = sink.received.length;
    sink.refuseNext(1);
    await queueEmail(testApp.services, tenant.tenantId, sampleEmail('erin@example.test'));
    await testApp.services.outbox.drain();
    const { rows } = await testApp.database.admin.query(`SELECT attempts, last_error FROM outbox WHERE topic = 'email.send'`);
    expect(rows).toEqual([expect.objectContaining({ attempts: 1 })]);
    await testApp.database.admin.query(`UPDATE outbox SET available_at = now() WHERE topic = 'email.send'`);
    await testApp.services.outbox.drain();
    await sink.waitFor(before + 1);
    expect(sink.received.at(-1)!.to).toMatchObject({ text: 'erin@example.test' });
    expect(await outboxRows()).toEqual([]);
  });

  it('never logs a body or a token', async () => {
    const email = sampleEmail('frank@example.test');
    await queueEmail(testApp.services, tenant.tenantId, email);
    await testApp.services.outbox.drain();
    expect(testApp.logs()).toContain('email delivered');
    expect(testApp.logs()).not.toContain(email.secret);
    expect(testApp.logs()).not.toContain('frank@example.test');
  });
});
