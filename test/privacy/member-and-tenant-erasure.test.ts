// An admin erases a departed member from their tenant only (the member's rows in another tenant
// and their account stay); other tenants' admins cannot reach them. An owner erases their
// tenant at once, and the operator reads the certificate afterwards, signature checked.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/db/ids.js';
import { bearer, expectProblem, login } from '../support/fixtures.js';
import { PLATFORM_ADMIN_TOKEN, seedPersonTenant, startPrivacyApp, type PrivacyApp, type SeededPerson } from './support/privacy-app.js';
import { scanDatabase } from './support/scan-database.js';

let testApp: PrivacyApp;
let home: SeededPerson; // the tenant the member leaves; its owner is the admin who erases
let elsewhere: SeededPerson; // another tenant the member still belongs to
let stranger: SeededPerson; // a tenant the member never joined
const member = { id: newId(), email: `leaving.member.${Date.now()}@people.example.test`, name: 'Bartholomew Leavingsworth' };

async function admin(sqlText: string, values: unknown[] = []) {
  return testApp.database.admin.query(sqlText, values);
}

async function tokenOf(owner: SeededPerson): Promise<string> {
  const response = await login(testApp.app, owner.email, owner.password, owner.tenantId);
  expect(response.statusCode).toBe(200);
  return response.json().accessToken;
}

/** The member's traces in one tenant: a membership, a task of theirs, an audit row, a memory about them. */
async function traces(tenant: SeededPerson, departed: boolean) {
  await admin(`INSERT INTO memberships (tenant_id, user_id, role, deleted_at) VALUES ($1, $2, 'member', $3)`, [tenant.tenantId, member.id, departed ? new Date() : null]);
  await admin(`INSERT INTO tasks (tenant_id, id, project_id, title, created_by) VALUES ($1, $2, $3, 'a task of theirs', $4)`, [tenant.tenantId, newId(), tenant.projectId, member.id]);
  await admin(`INSERT INTO audit_log (tenant_id, id, actor, action, target) VALUES ($1, $2, $3, 'task.created', 'task:1')`, [tenant.tenantId, newId(), `user:${member.id}`]);
  await admin(`INSERT INTO memories (tenant_id, id, content) VALUES ($1, $2, $3)`, [tenant.tenantId, newId(), `${member.name} <${member.email}> owes us a report`]);
  await mailFor(tenant.tenantId, member.email);
}

/** A copy in the local mailbox of a message sent for the tenant. */
async function mailFor(tenantId: string, recipient: string) {
  await admin(
    `INSERT INTO email_mailbox (id, message_id, sender, recipient, subject, text_body, html_body, sent_for_tenant)
     VALUES ($1, gen_random_uuid()::text, 'no-reply@localhost', $2, 'a subject', 'a body', 'a body', $3)`,
    [newId(), recipient, tenantId],
  );
}

async function mailboxRows(tenantId: string): Promise<number> {
  return (await admin(`SELECT count(*)::int AS n FROM email_mailbox WHERE sent_for_tenant = $1`, [tenantId])).rows[0].n;
}

beforeAll(async () => {
  testApp = await startPrivacyApp();
  home = await seedPersonTenant(testApp.database.admin, 'MemberHome');
  elsewhere = await seedPersonTenant(testApp.database.admin, 'MemberElsewhere');
  stranger = await seedPersonTenant(testApp.database.admin, 'MemberStranger');
  await admin(`INSERT INTO users (id, email, name) VALUES ($1, $2, $3)`, [member.id, member.email, member.name]);
  await traces(home, true);
  await traces(elsewhere, false);
  await testApp.startWorker();
}, 60_000);

afterAll(async () => {
  await testApp?.close();
});

async function mentionsIn(tenantId: string): Promise<number> {
  const findings = await scanDatabase(testApp.database.admin, [member.email, member.name, member.id]);
  let count = 0;
  for (const finding of findings.filter((f) => f.table.startsWith('public.') && f.table !== 'public.users')) {
    const table = finding.table.slice('public.'.length);
    const { rows } = await admin(
      `SELECT count(*)::int AS n FROM ${table} WHERE tenant_id = $1 AND position(lower($2) in lower(${finding.column}::text)) > 0`,
      [tenantId, finding.needle],
    ).catch(() => ({ rows: [{ n: 0 }] }));
    count += rows[0].n;
  }
  const ids = await admin(`SELECT (SELECT count(*) FROM tasks WHERE tenant_id = $1 AND created_by = $2) + (SELECT count(*) FROM memberships WHERE tenant_id = $1 AND user_id = $2) AS n`, [tenantId, member.id]);
  return count + Number(ids.rows[0].n);
}

describe('POST /v1/members/:userId/erase', () => {
  it("answers 404 to the admin of a tenant the user never joined, and changes nothing", async () => {
    const response = await testApp.app.inject({ method: 'POST', url: `/v1/members/${member.id}/erase`, headers: bearer(await tokenOf(stranger)) });
    expectProblem(response, 404, 'not-found');
    expect(await mentionsIn(home.tenantId)).toBeGreaterThan(0);
  });

  it('answers 409 where the user is still a member, and 400 for a malformed id', async () => {
    const token = await tokenOf(elsewhere);
    expectProblem(await testApp.app.inject({ method: 'POST', url: `/v1/members/${member.id}/erase`, headers: bearer(token) }), 409, 'erasure-blocked');
    expectProblem(await testApp.app.inject({ method: 'POST', url: `/v1/members/not-a-uuid/erase`, headers: bearer(token) }), 400, 'validation-failed');
    expect(await mentionsIn(elsewhere.tenantId)).toBeGreaterThan(0);
  });

  it("erases the departed member from this tenant only: the other tenant's rows and the account stay", async () => {
    const before = await mentionsIn(elsewhere.tenantId);
    const response = await testApp.app.inject({ method: 'POST', url: `/v1/members/${member.id}/erase`, headers: bearer(await tokenOf(home)) });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ kind: 'member', scopeTenant: home.tenantId, requestedBy: `user:${home.userId}` });
    expect(await mentionsIn(home.tenantId)).toBe(0);
    expect(await mentionsIn(elsewhere.tenantId)).toBe(before);
    // The mail sent to them for this tenant goes; the other tenant's stays.
    expect(response.json().tables.email_mailbox).toEqual({ deleted: 1, updated: 0 });
    expect(await mailboxRows(home.tenantId)).toBe(0);
    expect(await mailboxRows(elsewhere.tenantId)).toBe(1);
    expect((await admin(`SELECT email FROM users WHERE id = $1`, [member.id])).rows[0].email).toBe(member.email);
    const audit = await admin(`SELECT actor FROM audit_log WHERE tenant_id = $1 AND action = 'task.created' AND actor LIKE 'erased:%'`, [home.tenantId]);
    expect(audit.rows).toHaveLength(1);
    // The erasure itself is audited in that tenant, by the admin, naming only the pseudonym.
    const erased = await admin(`SELECT actor, target FROM audit_log WHERE tenant_id = $1 AND action = 'person.erased'`, [home.tenantId]);
    expect(erased.rows).toEqual([{ actor: `user:${home.userId}`, target: `erased:${response.json().subject}` }]);
  });
});

describe('POST /v1/tenant/erase', () => {
  let certificate: Record<string, any>;

  it('answers 400 when confirm does not repeat the slug, and erases nothing', async () => {
    const token = await tokenOf(stranger);
    expectProblem(await testApp.app.inject({ method: 'POST', url: '/v1/tenant/erase', headers: bearer(token), payload: { confirm: 'not-the-slug' } }), 400, 'validation-failed');
    expectProblem(await testApp.app.inject({ method: 'POST', url: '/v1/tenant/erase', headers: bearer(token), payload: {} }), 400, 'validation-failed');
    expect((await admin(`SELECT status FROM tenants WHERE id = $1`, [stranger.tenantId])).rows[0].status).toBe('active');
  });

  it('deletes every row of the tenant at once and answers a certificate of what went', async () => {
    const { rows } = await admin(`SELECT slug FROM tenants WHERE id = $1`, [stranger.tenantId]);
    await mailFor(stranger.tenantId, `someone.${newId()}@example.test`);
    const response = await testApp.app.inject({ method: 'POST', url: '/v1/tenant/erase', headers: bearer(await tokenOf(stranger)), payload: { confirm: rows[0].slug } });
    expect(response.statusCode).toBe(200);
    certificate = response.json();
    expect(certificate).toMatchObject({ kind: 'tenant', subject: stranger.tenantId, requestedBy: `user:${stranger.userId}` });
    expect(certificate.tables.tasks.deleted).toBe(1);
    expect(certificate.tables.contracts.deleted).toBe(1);
    expect(certificate.tables.tenants.deleted).toBe(1);
    // The copies of the mail sent for it, in the global mailbox, go with it.
    expect(certificate.tables.email_mailbox.deleted).toBe(1);
    expect(await mailboxRows(stranger.tenantId)).toBe(0);
    expect(await mailboxRows(elsewhere.tenantId)).toBe(1);
    for (const table of testApp.services.modules.tenantTables) {
      const { rows: left } = await admin(`SELECT count(*)::int AS n FROM ${table} WHERE tenant_id = $1`, [stranger.tenantId]);
      expect([table, left[0].n]).toEqual([table, 0]);
    }
    expect((await admin(`SELECT count(*)::int AS n FROM tenants WHERE id = $1`, [stranger.tenantId])).rows[0].n).toBe(0);
    // Other tenants keep their rows.
    expect((await admin(`SELECT count(*)::int AS n FROM tasks WHERE tenant_id = $1`, [elsewhere.tenantId])).rows[0].n).toBe(2);
  });

  it('is readable by the operator afterwards, with its signature checked; an altered one is flagged', async () => {
    const operator = { authorization: `Bearer ${PLATFORM_ADMIN_TOKEN}` };
    const read = await testApp.app.inject({ method: 'GET', url: `/v1/admin/erasure-certificates/${certificate.id}`, headers: operator });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual({ ...certificate, signatureValid: true });
    const listed = await testApp.app.inject({ method: 'GET', url: `/v1/admin/erasure-certificates?subject=${stranger.tenantId}`, headers: operator });
    expect(listed.json().certificates.map((row: any) => row.id)).toEqual([certificate.id]);
    await admin(`UPDATE erasure_certificates SET body = jsonb_set(body, '{tables,tasks,deleted}', '0') WHERE id = $1`, [certificate.id]);
    const altered = await testApp.app.inject({ method: 'GET', url: `/v1/admin/erasure-certificates/${certificate.id}`, headers: operator });
    expect(altered.json().signatureValid).toBe(false);
    expectProblem(await testApp.app.inject({ method: 'GET', url: `/v1/admin/erasure-certificates/${certificate.id}`, headers: bearer(await tokenOf(home)) }), 403, 'forbidden');
  });
});
