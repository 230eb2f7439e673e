// The embedded default: with no SMTP server configured, mail lands in the local mailbox,
// exactly once per message, and only the platform operator can read it.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, expectProblem, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { queueEmail, sampleEmail } from './support/queue-email.js';

const ADMIN_TOKEN = 'platform-admin-token-for-mail-tests-0123456789';

let testApp: TestApp;
let tenant: SignedUpTenant;

beforeAll(async () => {
  testApp = await startTestApp({ TENANTRY_PLATFORM_ADMIN_TOKEN: ADMIN_TOKEN });
  tenant = await signUp(testApp.app);
  // Sign-up mails the owner a verification link: sent before the tests look at the outbox.
  await testApp.services.outbox.drain();
});

afterAll(async () => {
  await testApp?.close();
});

function readMailbox(query = '', token = ADMIN_TOKEN) {
  return testApp.app.inject({ method: 'GET', url: `/v1/admin/mail${query}`, headers: bearer(token) });
}

describe('the local mailbox', () => {
  it('keeps a delivered email, once, however often its outbox message is delivered', async () => {
    const email = sampleEmail('mailbox-one@example.test');
    await queueEmail(testApp.services, tenant.tenantId, email);
    const { rows } = await testApp.database.admin.query(`SELECT id, payload FROM outbox WHERE topic = 'email.send'`);
    const message = { tenantId: tenant.tenantId, id: rows[0].id, topic: 'email.send', payload: rows[0].payload, attempts: 0 };
    await testApp.services.email.outboxConsumer(message);
    await testApp.services.outbox.drain();

    const response = await readMailbox('?to=MAILBOX-ONE@example.test');
    expect(response.statusCode).toBe(200);
    const { data } = response.json();
    expect(data).toHaveLength(1);
    expect(data[0]).toMatchObject({ to: 'mailbox-one@example.test', subject: 'Your sign-in link', messageId: rows[0].id });
    expect(data[0].text).toContain(email.secret);
  });

  it('lists the newest first and honours the limit', async () => {
    await queueEmail(testApp.services, tenant.tenantId, { ...sampleEmail('mailbox-two@example.test'), subject: 'first' });
    await queueEmail(testApp.services, tenant.tenantId, { ...sampleEmail('mailbox-two@example.test'), subject: 'second' });
    await testApp.services.outbox.drain();
    const { data } = (await readMailbox('?to=mailbox-two@example.test&limit=1')).json();
    expect(data.map((mail: { subject: string }) => mail.subject)).toEqual(['second']);
  });

  it('is refused to anyone but the platform operator', async () => {
    expectProblem(await readMailbox('', tenant.accessToken), 403, 'forbidden');
    expectProblem(await readMailbox('', tenant.apiKey), 403, 'forbidden');
    expectProblem(await testApp.app.inject({ method: 'GET', url: '/v1/admin/mail' }), 401);
  });

  it('answers 400 to a bad query', async () => {
    expectProblem(await readMailbox('?limit=0'), 400, 'validation-failed');
    expectProblem(await readMailbox('?to=not-an-email'), 400, 'validation-failed');
    expectProblem(await readMailbox('?extra=1'), 400, 'validation-failed');
  });

  it('is unreachable to the app role, whatever the tenant scope', async () => {
    await expect(testApp.services.db.identity({}, (tx) => tx.selectFrom('email_mailbox' as never).selectAll().execute())).rejects.toThrow();
  });
});
