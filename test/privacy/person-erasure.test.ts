// Erasure of a person: the user erases themselves (current password required) and nothing that
// identifies them remains anywhere in the database (every text and JSON column of every table
// scanned for their email, name and id), while the actions they took stay, pseudonymised; an
// admin erases a departed member from one tenant only; bad input and other tenants' admins are
// refused and change nothing.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/db/ids.js';
import { bearer, expectProblem, login } from '../support/fixtures.js';
import { seedPersonTenant, startPrivacyApp, type PrivacyApp, type SeededPerson } from './support/privacy-app.js';
import { scanDatabase } from './support/scan-database.js';

let testApp: PrivacyApp;
/** The person erased: owner of A (beside a second owner) and a member of B. */
let person: SeededPerson;
let other: SeededPerson;
const NAME = 'Zephyrine Quillfeather';

async function admin(sqlText: string, values: unknown[] = []) {
  return testApp.database.admin.query(sqlText, values);
}

async function tokenFor(who: { email: string; password: string }, tenant: string): Promise<string> {
  const response = await login(testApp.app, who.email, who.password, tenant);
  expect(response.statusCode).toBe(200);
  return response.json().accessToken;
}

let personToken: string;
let otherTasksBefore: number;
let exportId: string;
let unrelatedMail: string;

beforeAll(async () => {
  testApp = await startPrivacyApp();
  person = await seedPersonTenant(testApp.database.admin, 'ErasePerson');
  other = await seedPersonTenant(testApp.database.admin, 'EraseOther');
  await admin(`UPDATE users SET name = $2 WHERE id = $1`, [person.userId, NAME]);
  // A second owner of A, so the person is not the last one.
  const coOwner = newId();
  await admin(`INSERT INTO users (id, email, name) VALUES ($1, $2, 'Co Owner')`, [coOwner, `co-owner-${coOwner}@example.test`]);
  await admin(`INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, 'owner')`, [person.tenantId, coOwner]);
  // In A: what they did and what mentions them.
  await admin(`INSERT INTO audit_log (tenant_id, id, actor, action, target, after) VALUES ($1, $2, $3, 'member.invited', 'invitation:x', $4)`, [
    person.tenantId, newId(), `user:${person.userId}`, { email: 'someone@example.test', by: NAME },
  ]);
  await admin(`INSERT INTO memories (tenant_id, id, content) VALUES ($1, $2, $3)`, [person.tenantId, newId(), `${NAME} prefers short meetings`]);
  // In B, where they are a plain member: a task they created and were assigned, usage naming them.
  await admin(`INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, 'member')`, [other.tenantId, person.userId]);
  await admin(`INSERT INTO tasks (tenant_id, id, project_id, title, created_by, assignee_id) VALUES ($1, $2, $3, 'their task', $4, $4)`, [
    other.tenantId, newId(), other.projectId, person.userId,
  ]);
  await admin(
    `INSERT INTO usage_events (tenant_id, idempotency_key, metric, quantity, occurred_at, unique_value, properties) VALUES ($1, $2, 'api_calls', 1, '2000-01-01', $3, $4)`,
    [other.tenantId, `erase-${newId()}`, person.email, { user: person.email }],
  );
  await admin(`INSERT INTO audit_log (tenant_id, id, actor, action, target) VALUES ($1, $2, 'user:' || $3, 'task.created', 'task:1')`, [other.tenantId, newId(), person.userId]);
  // An invitation to their address, which they accepted.
  await admin(
    `INSERT INTO invitations (tenant_id, id, email, role, token_hash, expires_at, accepted_at, accepted_by) VALUES ($1, $2, $3, 'member', '\\x01', now(), now(), $4)`,
    [other.tenantId, newId(), person.email, person.userId],
  );
  // In the modules' global tables: a verification token, a proven address, a known device, a
  // sign-up never completed, mail to them and mail naming them (sent for B), and mail that does not.
  await admin(`INSERT INTO account_tokens (id, user_id, purpose, email, token_hash, expires_at) VALUES ($1, $2, 'verify-email', $3, '\\x02', now() + interval '1 hour')`, [
    newId(), person.userId, person.email,
  ]);
  await admin(`INSERT INTO verified_emails (user_id, email) VALUES ($1, lower($2))`, [person.userId, person.email]);
  await admin(`INSERT INTO known_devices (user_id, fingerprint) VALUES ($1, decode(repeat('ab', 32), 'hex'))`, [person.userId]);
  await admin(
    `INSERT INTO signup_requests (id, token_hash, email, owner_name, password_hash, tenant_name, slug, plan, expires_at)
     VALUES ($1, '\\x03', $2, $3, 'x', 'Pending Co', 'pending-co', 'free', now() + interval '1 hour')`,
    [newId(), person.email, NAME],
  );
  const mail = `INSERT INTO email_mailbox (id, message_id, sender, recipient, subject, text_body, html_body, sent_for_tenant) VALUES ($1, gen_random_uuid()::text, 'no-reply@localhost', $2, 's', $3, $3, $4)`;
  await admin(mail, [newId(), person.email, 'a link for you', null]);
  await admin(mail, [newId(), `colleague.${newId()}@example.test`, `${NAME} invited you`, other.tenantId]);
  unrelatedMail = newId();
  await admin(mail, [unrelatedMail, `colleague.${newId()}@example.test`, 'nothing about anyone', other.tenantId]);
  await testApp.startWorker();
  personToken = await tokenFor(person, person.tenantId);
  // An export of A made before the erasure: it holds the person's rows as they were.
  const started = await testApp.app.inject({ method: 'POST', url: '/v1/tenant/export', headers: bearer(personToken) });
  expect(started.statusCode).toBe(202);
  exportId = started.json().id;
  await testApp.services.outbox.drain();
  for (let i = 0; i < 600; i++) {
    const { rows } = await admin(`SELECT status FROM tenant_exports WHERE id = $1`, [exportId]);
    if (rows[0].status === 'ready') break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  otherTasksBefore = (await admin(`SELECT count(*)::int AS n FROM tasks WHERE tenant_id = $1 AND created_by IS DISTINCT FROM $2`, [other.tenantId, person.userId])).rows[0].n;
}, 60_000);

afterAll(async () => {
  await testApp?.close();
});

describe('POST /v1/me/erase', () => {
  it('answers 401 for a wrong password and 400 for a malformed body, and erases nothing', async () => {
    const wrong = await testApp.app.inject({ method: 'POST', url: '/v1/me/erase', headers: bearer(personToken), payload: { password: 'not the password at all' } });
    expectProblem(wrong, 401, 'invalid-credentials');
    expectProblem(await testApp.app.inject({ method: 'POST', url: '/v1/me/erase', headers: bearer(personToken), payload: {} }), 400, 'validation-failed');
    expectProblem(await testApp.app.inject({ method: 'POST', url: '/v1/me/erase', headers: bearer(personToken), payload: { password: person.password, extra: 1 } }), 400, 'validation-failed');
    expectProblem(await testApp.app.inject({ method: 'POST', url: '/v1/me/erase', payload: { password: person.password } }), 401, 'unauthenticated');
    expect((await scanDatabase(testApp.database.admin, [person.email])).length).toBeGreaterThan(0);
  });

  it('refuses an API key: erasing a person needs that person', async () => {
    const { rows } = await admin(`SELECT 1`);
    expect(rows).toHaveLength(1);
    const keyResponse = await testApp.app.inject({ method: 'POST', url: '/v1/me/erase', headers: bearer(`tnt_${'a'.repeat(16)}_${'b'.repeat(32)}`), payload: { password: person.password } });
    expect([401, 403]).toContain(keyResponse.statusCode);
  });

  it('answers 409 while the person is the only owner of a tenant, and erases nothing', async () => {
    await admin(`UPDATE memberships SET role = 'member' WHERE tenant_id = $1 AND user_id <> $2`, [person.tenantId, person.userId]);
    try {
      const response = await testApp.app.inject({ method: 'POST', url: '/v1/me/erase', headers: bearer(personToken), payload: { password: person.password } });
      expect(expectProblem(response, 409, 'erasure-blocked').tenant_ids).toEqual([person.tenantId]);
      expect((await admin(`SELECT email FROM users WHERE id = $1`, [person.userId])).rows[0].email).toBe(person.email);
    } finally {
      await admin(`UPDATE memberships SET role = 'owner' WHERE tenant_id = $1`, [person.tenantId]);
    }
  });

  describe('with the current password', () => {
    let certificate: Record<string, any>;

    beforeAll(async () => {
      const response = await testApp.app.inject({ method: 'POST', url: '/v1/me/erase', headers: bearer(personToken), payload: { password: person.password } });
      if (response.statusCode !== 200) throw new Error(`${response.statusCode}: ${testApp.logs().split('\n').filter((line) => /"level":50/.test(line)).slice(-2).join('\n')}`);
      certificate = response.json();
    });

    it("leaves the person's email, name and id in no column of any table, global tables included (their user row keeps its id only)", async () => {
      expect(await scanDatabase(testApp.database.admin, [person.email, NAME, person.userId], { except: ['public.users.id'] })).toEqual([]);
    });

    it("deletes their rows of the modules' global tables, and leaves mail that is not about them", async () => {
      expect(certificate.tables).toMatchObject({
        account_tokens: { deleted: 1, updated: 0 },
        verified_emails: { deleted: 1, updated: 0 },
        known_devices: { deleted: 2, updated: 0 }, // the seeded one and this test's own sign-in
        signup_requests: { deleted: 1, updated: 0 },
        email_mailbox: { deleted: 2, updated: 0 },
      });
      expect((await admin(`SELECT count(*)::int AS n FROM email_mailbox WHERE id = $1`, [unrelatedMail])).rows[0].n).toBe(1);
    });

    it('answers a certificate naming the pseudonym and what was removed', () => {
      expect(certificate).toMatchObject({ kind: 'person', scopeTenant: null, requestedBy: `erased:${certificate.subject}` });
      expect(certificate.subject).toMatch(/^erased-[0-9a-f]{16}$/);
      expect(certificate.tables.memberships.deleted).toBe(2);
      expect(certificate.tables.contracts.updated).toBe(2); // signer_email pseudonymised, signer_id emptied
      expect(certificate.signature).toMatch(/^[0-9a-f]{64}$/);
    });

    it('keeps the actions, under the pseudonym', async () => {
      const { rows } = await admin(`SELECT tenant_id, actor, action FROM audit_log WHERE actor = $1 ORDER BY action`, [`erased:${certificate.subject}`]);
      expect(rows.map((row) => row.action)).toEqual(expect.arrayContaining(['member.invited', 'person.erased', 'task.created']));
      const flag = await admin(`SELECT created_by FROM flag_overrides WHERE tenant_id = $1`, [person.tenantId]);
      expect(flag.rows[0].created_by).toBe(`erased:${certificate.subject}`);
    });

    it('revokes their API keys and sessions: their token and keys no longer work', async () => {
      const keys = await admin(`SELECT revoked_at, created_by FROM api_keys WHERE id = $1`, [person.apiKeyId]);
      expect(keys.rows[0].revoked_at).not.toBeNull();
      expect(keys.rows[0].created_by).toBeNull();
      expect((await admin(`SELECT count(*)::int AS n FROM sessions WHERE user_id = $1`, [person.userId])).rows[0].n).toBe(0);
      expect((await testApp.app.inject({ method: 'GET', url: '/v1/projects', headers: bearer(personToken) })).statusCode).toBe(401);
      expectProblem(await login(testApp.app, person.email, person.password), 401, 'invalid-credentials');
    });

    it('withdraws the export archives made before it in their tenants', async () => {
      expect(certificate.files).toBe(1);
      const { rows } = await admin(`SELECT status, storage_key FROM tenant_exports WHERE id = $1`, [exportId]);
      expect(rows[0]).toEqual({ status: 'expired', storage_key: null });
      const { readdir } = await import('node:fs/promises');
      expect(await readdir(`${testApp.exportDir}/archives/${person.tenantId}`)).toEqual([]);
    });

    it("leaves other people's rows as they were", async () => {
      const { rows } = await admin(`SELECT count(*)::int AS n FROM tasks WHERE tenant_id = $1`, [other.tenantId]);
      expect(rows[0].n).toBe(otherTasksBefore + 1); // their task stays, without them
      const owner = await admin(`SELECT email FROM users WHERE id = $1`, [other.userId]);
      expect(owner.rows[0].email).toBe(other.email);
      expect((await admin(`SELECT count(*)::int AS n FROM memberships WHERE user_id = $1`, [other.userId])).rows[0].n).toBe(1);
    });
  });
});
