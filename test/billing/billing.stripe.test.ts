// The Stripe provider against a local stand-in that checks request shapes: provisioning
// (retried, or run twice at once, makes one customer), Checkout, meter events whose identifiers
// stay the same across re-runs, and POST /v1/billing/webhooks/stripe: verified on the raw body
// within 300 s either way, each event applied once with its effect, in any order, all or
// nothing, and only ever to the tenant whose customer it names.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BillingState } from '../../src/billing/billing-state.js';
import type { BillingTables } from '../../src/billing/billing-tables.js';
import { PeriodClosing } from '../../src/billing/close-periods.js';
import { billingProviderFor } from '../../src/billing/provider/create-billing-provider.js';
import { BillingCheckout } from '../../src/billing/stripe/checkout.js';
import { localBillingProvider } from '../../src/billing/provider/local-provider.js';
import { meterEventIdentifier } from '../../src/billing/provider/meter-event-identifier.js';
import { BillingAccountProvisioning } from '../../src/billing/provider/provision-billing-accounts.js';
import { UsageReporting } from '../../src/billing/provider/report-period-usage.js';
import { SetupPaymentMethods } from '../../src/billing/provider/setup-payment-methods.js';
import { bearer, expectProblem, ownerActor, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { signedStripeEvent, startStripeStandIn, type SignedEvent, type StripeStandIn } from '../support/stripe-stand-in.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { billingPeriod } from '../../src/metering/billing-period.js';

const WEBHOOK_SECRET = 'whsec_test_secret_for_the_stand_in_0123456789';
const URL_PATH = '/v1/billing/webhooks/stripe';

let stripe: StripeStandIn;
let testApp: TestApp;
let provisioning: BillingAccountProvisioning;

beforeAll(async () => {
  stripe = await startStripeStandIn();
  testApp = await startTestApp({
    STRIPE_SECRET_KEY: stripe.secretKey,
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    STRIPE_API_BASE_URL: stripe.url,
    STRIPE_PRICES: 'pro:price_pro,promax:price_promax',
  });
  const db = testApp.services.db.withTables<BillingTables>();
  provisioning = new BillingAccountProvisioning(db, billingProviderFor(testApp.services.config), testApp.clock);
});

afterAll(async () => {
  await testApp?.close();
  await stripe?.close();
});

afterEach(() => {
  // Every request Tenantry sent kept Stripe's rules (bearer key, form encoding, idempotency keys).
  expect(stripe.violations).toEqual([]);
});

const sql = (text: string, values: unknown[] = []) => testApp.database.admin.query(text, values);

interface StripeTenant extends SignedUpTenant {
  readonly customerRef: string;
}

async function stripeTenant(plan = 'free'): Promise<StripeTenant> {
  const tenant = await signUp(testApp.app);
  if (plan !== 'free') await sql(`UPDATE tenants SET plan = $2 WHERE id = $1`, [tenant.tenantId, plan]);
  const refs = await provisioning.provisionTenant(tenant.tenantId);
  return { ...tenant, customerRef: refs.customerRef! };
}

function deliver(event: SignedEvent, body = event.body) {
  return testApp.app.inject({ method: 'POST', url: URL_PATH, headers: { 'content-type': 'application/json', 'stripe-signature': event.signature }, payload: body });
}

const now = () => Math.floor(Date.now() / 1000);

async function tenantRow(tenantId: string) {
  const { rows } = await sql(
    `SELECT t.status, t.plan, b.has_payment_method, b.provider_event_at, b.subscription_ref,
            (SELECT count(*)::int FROM billing_provider_events e WHERE e.tenant_id = t.id) AS events,
            (SELECT count(*)::int FROM audit_log a WHERE a.tenant_id = t.id AND a.action LIKE 'billing.%') AS audits,
            (SELECT count(*)::int FROM outbox o WHERE o.tenant_id = t.id AND o.topic = 'billing.state-changed') AS announcements
       FROM tenants t LEFT JOIN billing_accounts b ON b.tenant_id = t.id WHERE t.id = $1`,
    [tenantId],
  );
  return rows[0];
}

const failed = (tenant: StripeTenant, created?: number) =>
  signedStripeEvent(WEBHOOK_SECRET, 'invoice.payment_failed', { id: 'in_1', object: 'invoice', customer: tenant.customerRef }, { created });
const paid = (tenant: StripeTenant, created?: number) =>
  signedStripeEvent(WEBHOOK_SECRET, 'invoice.paid', { id: 'in_1', object: 'invoice', customer: tenant.customerRef }, { created });

describe('provisioning', () => {
  it('creates a customer and, for a plan with a price, a subscription, with idempotency keys from the tenant', async () => {
    const tenant = await stripeTenant('pro');
    const row = await tenantRow(tenant.tenantId);
    expect(row.subscription_ref).toMatch(/^sub_/);
    const customerCall = stripe.calls.find((call) => call.path === '/v1/customers' && call.params['metadata[tenant_id]'] === tenant.tenantId);
    expect(customerCall?.idempotencyKey).toBe(`tenantry:customer:${tenant.tenantId}`);
    const subscriptionCall = stripe.calls.find((call) => call.path === '/v1/subscriptions' && call.params.customer === tenant.customerRef);
    expect(subscriptionCall?.params).toMatchObject({ 'items[0][price]': 'price_pro', payment_behavior: 'default_incomplete' });
  });

  it('retried after the provider answered but before the refs were stored, creates one customer', async () => {
    const tenant = await signUp(testApp.app);
    const first = await provisioning.provisionTenant(tenant.tenantId);
    // The run died before storing: the account row never got its refs.
    await sql(`DELETE FROM billing_accounts WHERE tenant_id = $1`, [tenant.tenantId]);
    const retried = await provisioning.provisionTenant(tenant.tenantId);
    expect(retried.customerRef).toBe(first.customerRef);
    const customers = stripe.created.customers!.filter((customer) => (customer.metadata as { tenant_id: string }).tenant_id === tenant.tenantId);
    expect(customers).toHaveLength(1);
  });

  it('retried more than 24 h after a lost answer (Stripe forgot the idempotency keys), adopts the customer and subscription it made', async () => {
    const tenant = await stripeTenant('pro');
    const first = { customerRef: tenant.customerRef, subscriptionRef: (await tenantRow(tenant.tenantId)).subscription_ref };
    // The answer was lost: nothing stored. A day later Stripe no longer knows the keys.
    await sql(`DELETE FROM billing_accounts WHERE tenant_id = $1`, [tenant.tenantId]);
    stripe.expireIdempotencyKeys();
    const retried = await provisioning.provisionTenant(tenant.tenantId);
    expect(retried).toEqual(first);
    expect(stripe.created.customers!.filter((customer) => (customer.metadata as { tenant_id: string }).tenant_id === tenant.tenantId)).toHaveLength(1);
    expect(stripe.created.subscriptions!.filter((subscription) => subscription.customer === tenant.customerRef)).toHaveLength(1);
    const search = stripe.calls.filter((call) => call.path === '/v1/customers/search' && call.params.query === `metadata['tenant_id']:'${tenant.tenantId}'`);
    expect(search.length).toBeGreaterThanOrEqual(2);
    const { rows } = await sql(`SELECT customer_ref, subscription_ref FROM billing_accounts WHERE tenant_id = $1`, [tenant.tenantId]);
    expect(rows).toEqual([{ customer_ref: first.customerRef, subscription_ref: first.subscriptionRef }]);
  });

  it('run twice at once (two instances), creates one customer and stores it once', async () => {
    const tenant = await signUp(testApp.app);
    const [a, b] = await Promise.all([provisioning.provisionTenant(tenant.tenantId), provisioning.provisionTenant(tenant.tenantId)]);
    expect(a.customerRef).toBe(b.customerRef);
    expect(stripe.created.customers!.filter((customer) => (customer.metadata as { tenant_id: string }).tenant_id === tenant.tenantId)).toHaveLength(1);
    const { rows } = await sql(`SELECT customer_ref FROM billing_accounts WHERE tenant_id = $1`, [tenant.tenantId]);
    expect(rows).toEqual([{ customer_ref: a.customerRef }]);
  });

  it('the sweep provisions every tenant without a customer, and a Stripe outage leaves the tenant for the next run', async () => {
    const tenant = await signUp(testApp.app);
    stripe.failNext('/v1/customers', 3);
    await provisioning.provisionPending(testApp.services.logger);
    expect((await tenantRow(tenant.tenantId)).subscription_ref ?? null).toBeNull();
    await provisioning.provisionPending(testApp.services.logger);
    const { rows } = await sql(`SELECT provider, customer_ref FROM billing_accounts WHERE tenant_id = $1`, [tenant.tenantId]);
    expect(rows[0]).toMatchObject({ provider: 'stripe', customer_ref: expect.stringMatching(/^cus_/) });
  });
});

describe('POST /v1/billing/webhooks/stripe: the signature', () => {
  it('accepts the raw body it was signed over', async () => {
    const tenant = await stripeTenant();
    const response = await deliver(failed(tenant));
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ received: true, outcome: 'applied' });
    expect((await tenantRow(tenant.tenantId)).status).toBe('past_due');
  });

  it('refuses the same event re-serialized (same JSON, other bytes) and records nothing', async () => {
    const tenant = await stripeTenant();
    const event = failed(tenant);
    const reserialized = JSON.stringify(JSON.parse(event.body));
    expectProblem(await deliver(event, reserialized), 400, 'invalid-webhook-signature');
    expect(await tenantRow(tenant.tenantId)).toMatchObject({ status: 'active', events: 0 });
  });

  it('refuses a timestamp more than 300 s old or more than 300 s ahead, and a missing or foreign signature', async () => {
    const tenant = await stripeTenant();
    const object = { id: 'in_2', object: 'invoice', customer: tenant.customerRef };
    const stale = signedStripeEvent(WEBHOOK_SECRET, 'invoice.payment_failed', object, { signedAt: now() - 301 });
    const future = signedStripeEvent(WEBHOOK_SECRET, 'invoice.payment_failed', object, { signedAt: now() + 301 });
    const foreign = signedStripeEvent('whsec_someone_else', 'invoice.payment_failed', object);
    for (const event of [stale, future, foreign]) expectProblem(await deliver(event), 400, 'invalid-webhook-signature');
    const unsigned = await testApp.app.inject({ method: 'POST', url: URL_PATH, headers: { 'content-type': 'application/json' }, payload: stale.body });
    expectProblem(unsigned, 400, 'invalid-webhook-signature');
    expect(await tenantRow(tenant.tenantId)).toMatchObject({ status: 'active', events: 0 });
    // Within the window on both sides it is fine.
    expect((await deliver(signedStripeEvent(WEBHOOK_SECRET, 'invoice.payment_failed', object, { signedAt: now() + 200 }))).statusCode).toBe(200);
  });
});

describe('POST /v1/billing/webhooks/stripe: effects', () => {
  it('a redelivered event has one effect', async () => {
    const tenant = await stripeTenant();
    const event = failed(tenant);
    expect((await deliver(event)).json().outcome).toBe('applied');
    const after = await tenantRow(tenant.tenantId);
    expect((await deliver(event)).json().outcome).toBe('duplicate');
    expect(await tenantRow(tenant.tenantId)).toEqual(after);
    expect(after).toMatchObject({ status: 'past_due', events: 1, audits: 1, announcements: 1 });
  });

  it('concurrent deliveries of one event have one effect', async () => {
    const tenant = await stripeTenant();
    const event = failed(tenant);
    const responses = await Promise.all(Array.from({ length: 6 }, () => deliver(event)));
    const outcomes = responses.map((response) => response.json().outcome).sort();
    expect(outcomes).toEqual(['applied', 'duplicate', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);
    expect(await tenantRow(tenant.tenantId)).toMatchObject({ status: 'past_due', events: 1, audits: 1, announcements: 1 });
  });

  it('out of order, the newest event wins: failed then an older paid stays past_due; paid then an older failed stays active', async () => {
    const a = await stripeTenant();
    expect((await deliver(failed(a, now() - 10))).json().outcome).toBe('applied');
    expect((await deliver(paid(a, now() - 20))).json().outcome).toBe('stale');
    expect(await tenantRow(a.tenantId)).toMatchObject({ status: 'past_due', events: 2 });

    const b = await stripeTenant();
    await deliver(failed(b, now() - 30));
    expect((await deliver(paid(b, now() - 10))).json().outcome).toBe('applied');
    expect((await deliver(failed(b, now() - 20))).json().outcome).toBe('stale');
    expect((await tenantRow(b.tenantId)).status).toBe('active');
  });

  it('a failure half-way leaves no partial state, and the retry converges', async () => {
    const tenant = await stripeTenant();
    // The last statement of the unit (stamping provider_event_at) fails, after the event row,
    // the status change, its audit row and its announcement were written.
    await sql(`CREATE FUNCTION public.test_fail_stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$`);
    await sql(
      `CREATE TRIGGER test_fail_stamp BEFORE UPDATE OF provider_event_at ON billing_accounts FOR EACH ROW WHEN (NEW.tenant_id = '${tenant.tenantId}') EXECUTE FUNCTION public.test_fail_stamp()`,
    );
    const event = failed(tenant);
    try {
      const response = await deliver(event);
      expect(response.statusCode).toBe(500);
      expect(await tenantRow(tenant.tenantId)).toMatchObject({ status: 'active', events: 0, audits: 0, announcements: 0, provider_event_at: null });
    } finally {
      await sql(`DROP TRIGGER test_fail_stamp ON billing_accounts; DROP FUNCTION public.test_fail_stamp()`);
    }
    expect((await deliver(event)).json().outcome).toBe('applied');
    expect(await tenantRow(tenant.tenantId)).toMatchObject({ status: 'past_due', events: 1, audits: 1, announcements: 1 });
  });

  it("an event about tenant A's customer never changes tenant B, whatever its metadata says", async () => {
    const a = await stripeTenant();
    const b = await stripeTenant();
    const before = await tenantRow(b.tenantId);
    const event = signedStripeEvent(WEBHOOK_SECRET, 'invoice.payment_failed', {
      id: 'in_x',
      object: 'invoice',
      customer: a.customerRef,
      metadata: { tenant_id: b.tenantId },
      subscription_details: { metadata: { tenant_id: b.tenantId } },
    });
    expect((await deliver(event)).json().outcome).toBe('applied');
    expect((await tenantRow(a.tenantId)).status).toBe('past_due');
    expect(await tenantRow(b.tenantId)).toEqual(before);
  });

  it('an unknown customer is a logged no-op', async () => {
    const event = signedStripeEvent(WEBHOOK_SECRET, 'invoice.paid', { id: 'in_u', object: 'invoice', customer: 'cus_nobody_knows' });
    const response = await deliver(event);
    expect(response.json()).toEqual({ received: true, outcome: 'unknown-customer' });
    expect((await sql(`SELECT count(*)::int AS n FROM billing_provider_events WHERE event_id = $1`, [event.id])).rows[0].n).toBe(0);
    expect(testApp.logs()).toContain('cus_nobody_knows');
  });

  it('drives dunning: failed -> past_due, paid -> active (also from suspended); subscription deleted -> the free plan', async () => {
    const tenant = await stripeTenant('pro');
    await deliver(failed(tenant, now() - 50));
    const state = new BillingState(testApp.services.db.withTables<BillingTables>(), { now: () => new Date(Date.now() + 8 * 86_400_000) }, 7);
    await state.suspendOverdue({ kind: 'system', name: 'billing', requestId: 'test' });
    expect((await tenantRow(tenant.tenantId)).status).toBe('suspended');
    await deliver(paid(tenant, now() - 40));
    expect((await tenantRow(tenant.tenantId)).status).toBe('active');
    const { subscription_ref: subscriptionRef } = await tenantRow(tenant.tenantId);
    const deleted = signedStripeEvent(WEBHOOK_SECRET, 'customer.subscription.deleted', { id: subscriptionRef, object: 'subscription', customer: tenant.customerRef, status: 'canceled' }, { created: now() - 30 });
    expect((await deliver(deleted)).json().outcome).toBe('applied');
    expect(await tenantRow(tenant.tenantId)).toMatchObject({ plan: 'free', subscription_ref: null, status: 'active' });
  });
});

describe('checkout', () => {
  it('gives a tenant admin a Checkout URL (setup mode, its customer, the server\'s return URLs); once the card is added, 409', async () => {
    const tenant = await stripeTenant();
    const response = await testApp.app.inject({ method: 'POST', url: '/v1/billing/checkout', headers: bearer(tenant.accessToken), payload: { plan: 'pro' } });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ plan: 'pro', url: expect.stringMatching(/^https:\/\/checkout\.stripe\.test\//) });
    const session = stripe.created.sessions!.at(-1)!;
    expect(session).toMatchObject({ mode: 'setup', customer: tenant.customerRef, client_reference_id: tenant.tenantId, 'metadata[plan]': 'pro' });
    const completed = signedStripeEvent(WEBHOOK_SECRET, 'checkout.session.completed', { id: session.id, object: 'checkout.session', customer: tenant.customerRef, mode: 'setup' });
    expect((await deliver(completed)).json().outcome).toBe('applied');
    expect((await tenantRow(tenant.tenantId)).has_payment_method).toBe(true);
    const again = await testApp.app.inject({ method: 'POST', url: '/v1/billing/checkout', headers: bearer(tenant.accessToken), payload: { plan: 'pro' } });
    expectProblem(again, 409, 'conflict');
  });

  /** The session's completion as Stripe sends it: what POST /v1/billing/checkout asked for. */
  function completedEventOf(session: Record<string, unknown>, overrides: Record<string, unknown> = {}) {
    return signedStripeEvent(WEBHOOK_SECRET, 'checkout.session.completed', {
      id: session.id,
      object: 'checkout.session',
      mode: 'setup',
      status: 'complete',
      customer: session.customer,
      client_reference_id: session.client_reference_id,
      metadata: { tenant_id: session['metadata[tenant_id]'], plan: session['metadata[plan]'] },
      ...overrides,
    });
  }

  async function checkoutFor(tenant: StripeTenant, plan: string) {
    const response = await testApp.app.inject({ method: 'POST', url: '/v1/billing/checkout', headers: bearer(tenant.accessToken), payload: { plan } });
    expect(response.statusCode).toBe(200);
    return stripe.created.sessions!.at(-1)!;
  }

  const setupPaymentMethods = () =>
    new SetupPaymentMethods(testApp.services.db.withTables<BillingTables>(), billingProviderFor(testApp.services.config));

  async function planAudits(tenantId: string) {
    const { rows } = await sql(
      `SELECT action, actor, after FROM audit_log WHERE tenant_id = $1 AND action IN ('plan.changed', 'plan.change_scheduled', 'billing.checkout_plan_refused') ORDER BY created_at`,
      [tenantId],
    );
    return rows;
  }

  const planAnnouncements = async (tenantId: string) =>
    (await sql(`SELECT count(*)::int AS n FROM outbox WHERE tenant_id = $1 AND topic = 'billing.plan-changed'`, [tenantId])).rows[0].n;

  it('makes the card a completed Checkout saved the one Stripe charges: customer and subscription, retried through an outage, once', async () => {
    const tenant = await stripeTenant();
    const session = await checkoutFor(tenant, 'pro');
    const { setupRef, paymentMethodRef } = stripe.confirmSetup(tenant.customerRef);
    expect((await deliver(completedEventOf(session, { setup_intent: setupRef }))).json().outcome).toBe('applied');
    const pending = async () => (await sql(`SELECT payment_method_setup_ref AS ref FROM billing_accounts WHERE tenant_id = $1`, [tenant.tenantId])).rows[0].ref;
    expect(await pending()).toBe(setupRef);

    // Stripe is down (through the SDK's two retries): nothing changes, and the next run tries again.
    stripe.failNext(`/v1/setup_intents/${setupRef}`, 3);
    await setupPaymentMethods().applyPending(testApp.services.logger);
    expect(await pending()).toBe(setupRef);
    await setupPaymentMethods().applyPending(testApp.services.logger);
    expect(await pending()).toBeNull();
    const customer = stripe.created.customers!.find((created) => created.id === tenant.customerRef)!;
    expect(customer.invoice_settings).toEqual({ default_payment_method: paymentMethodRef });
    const { subscription_ref: subscriptionRef } = await tenantRow(tenant.tenantId);
    expect(stripe.created.subscriptions!.find((created) => created.id === subscriptionRef)).toMatchObject({ default_payment_method: paymentMethodRef });

    // Done once: later runs send nothing more for it.
    const calls = stripe.calls.length;
    await setupPaymentMethods().applyPending(testApp.services.logger);
    expect(stripe.calls.filter((call) => call.path.includes(setupRef)).length).toBe(4);
    expect(stripe.calls.slice(calls).filter((call) => call.path.startsWith('/v1/customers/'))).toEqual([]);
  });

  it("never makes another customer's card the default: a Checkout naming a SetupIntent not of this customer is dropped", async () => {
    const victim = await stripeTenant();
    const tenant = await stripeTenant();
    const session = await checkoutFor(tenant, 'pro');
    const { setupRef, paymentMethodRef } = stripe.confirmSetup(victim.customerRef);
    expect((await deliver(completedEventOf(session, { setup_intent: setupRef }))).json().outcome).toBe('applied');
    await setupPaymentMethods().applyPending(testApp.services.logger);
    const pending = await sql(`SELECT payment_method_setup_ref AS ref FROM billing_accounts WHERE tenant_id = $1`, [tenant.tenantId]);
    expect(pending.rows[0].ref).toBeNull();
    for (const customerRef of [tenant.customerRef, victim.customerRef]) {
      expect(stripe.created.customers!.find((created) => created.id === customerRef)!.invoice_settings).toBeUndefined();
    }
    expect(stripe.created.subscriptions!.filter((created) => created.default_payment_method === paymentMethodRef)).toEqual([]);
  });

  it('a completed Checkout applies the plan it was created for, once: upgrade now, with the subscription, audited and announced', async () => {
    const tenant = await stripeTenant();
    const session = await checkoutFor(tenant, 'pro');
    const event = completedEventOf(session);
    expect((await deliver(event)).json().outcome).toBe('applied');
    const row = await tenantRow(tenant.tenantId);
    expect(row).toMatchObject({ plan: 'pro', has_payment_method: true, subscription_ref: expect.stringMatching(/^sub_/) });
    const subscription = stripe.created.subscriptions!.find((created) => created.id === row.subscription_ref)!;
    expect(subscription).toMatchObject({ customer: tenant.customerRef });
    expect(await planAudits(tenant.tenantId)).toEqual([{ action: 'plan.changed', actor: 'system:billing', after: { plan: 'pro', cause: 'upgrade' } }]);
    expect(await planAnnouncements(tenant.tenantId)).toBe(1);

    // Redelivered, alone or several at once: nothing more happens, at Stripe or here.
    const subscriptions = stripe.created.subscriptions!.length;
    const outcomes = await Promise.all([deliver(event), deliver(event), deliver(event)]);
    expect(outcomes.map((response) => response.json().outcome)).toEqual(['duplicate', 'duplicate', 'duplicate']);
    expect(stripe.created.subscriptions!).toHaveLength(subscriptions);
    expect(await planAudits(tenant.tenantId)).toHaveLength(1);
    expect(await planAnnouncements(tenant.tenantId)).toBe(1);
    expect(await tenantRow(tenant.tenantId)).toEqual(row);
  });

  it('a plan retired since the session was created is not applied; the card is still recorded and the refusal audited', async () => {
    const tenant = await stripeTenant();
    const session = await checkoutFor(tenant, 'promax');
    await sql(`UPDATE plans SET retired_at = now() WHERE key = 'promax'`);
    try {
      expect((await deliver(completedEventOf(session))).json().outcome).toBe('applied');
    } finally {
      await sql(`UPDATE plans SET retired_at = NULL WHERE key = 'promax'`);
    }
    expect(await tenantRow(tenant.tenantId)).toMatchObject({ plan: 'free', has_payment_method: true });
    expect(await planAudits(tenant.tenantId)).toEqual([
      { action: 'billing.checkout_plan_refused', actor: 'system:billing', after: expect.objectContaining({ plan: 'promax', code: 'plan-retired' }) },
    ]);
    expect(await planAnnouncements(tenant.tenantId)).toBe(0);
  });

  it('a session completed after the tenant changed plan some other way does not undo that change', async () => {
    const tenant = await stripeTenant();
    const session = await checkoutFor(tenant, 'promax');
    // Opened a minute ago; meanwhile the owner moved to pro directly.
    const opened = now() - 60;
    expect((await testApp.app.inject({ method: 'PATCH', url: '/v1/tenant/plan', headers: bearer(tenant.accessToken), payload: { plan: 'pro' } })).statusCode).toBe(200);
    expect((await deliver(completedEventOf(session, { created: opened }))).json().outcome).toBe('applied');
    expect(await tenantRow(tenant.tenantId)).toMatchObject({ plan: 'pro', has_payment_method: true });
    expect((await planAudits(tenant.tenantId)).map((audit) => [audit.action, audit.after.code ?? audit.after.plan])).toEqual([
      ['plan.changed', 'pro'],
      ['billing.checkout_plan_refused', 'conflict'],
    ]);
  });

  it("a session that names another tenant than its customer's changes no plan", async () => {
    const a = await stripeTenant();
    const b = await stripeTenant();
    const session = await checkoutFor(a, 'pro');
    expect((await deliver(completedEventOf(session, { client_reference_id: b.tenantId }))).json().outcome).toBe('applied');
    expect((await tenantRow(a.tenantId)).plan).toBe('free');
    expect((await tenantRow(b.tenantId)).plan).toBe('free');
    expect((await planAudits(a.tenantId)).map((audit) => audit.after.code)).toEqual(['conflict']);
  });

  it('a downgrade bought through Checkout follows the same rules: over this period\'s usage, it waits for the period end', async () => {
    const tenant = await stripeTenant('promax');
    const session = await checkoutFor(tenant, 'pro');
    // 60,000 tasks this period: above pro's 50,000, a per-period metric, so the downgrade waits.
    await sql(
      `INSERT INTO usage_rollups (tenant_id, metric, granularity, bucket_start, event_count, quantity_sum, quantity_max)
       SELECT id, 'tasks', 'hour', date_trunc('hour', now()), 60000, 60000, 1 FROM tenants WHERE id = $1`,
      [tenant.tenantId],
    );
    expect((await deliver(completedEventOf(session))).json().outcome).toBe('applied');
    expect((await tenantRow(tenant.tenantId)).plan).toBe('promax');
    const { rows } = await sql(`SELECT scheduled_plan FROM billing_accounts WHERE tenant_id = $1`, [tenant.tenantId]);
    expect(rows).toEqual([{ scheduled_plan: 'pro' }]);
    expect((await planAudits(tenant.tenantId)).map((audit) => audit.action)).toEqual(['plan.change_scheduled']);
  });

  it('refuses a plan without a Stripe price (409)', async () => {
    const tenant = await stripeTenant();
    expectProblem(await testApp.app.inject({ method: 'POST', url: '/v1/billing/checkout', headers: bearer(tenant.accessToken), payload: { plan: 'free' } }), 409, 'conflict');
  });

  it('on the local provider answers 409 saying checkout is not available', async () => {
    const tenant = await signUp(testApp.app);
    const local = new BillingCheckout(testApp.services.db.withTables<BillingTables>(), localBillingProvider, testApp.services.plans, undefined);
    await expect(local.start(ownerActor(tenant), 'pro')).rejects.toMatchObject({ code: 'conflict', extra: { billing_provider: 'local' } });
  });
});

describe('Stripe invoices and the local invoice of their period', () => {
  const db = () => testApp.services.db.withTables<BillingTables>();

  /** A Stripe tenant whose last period (40 days ago) has closed; answers that period, in seconds. */
  async function tenantWithClosedPeriod(issue = true) {
    const tenant = await stripeTenant('pro');
    const { rows } = await sql(`UPDATE tenants SET billing_anchor = date_trunc('hour', now() - interval '40 days') WHERE id = $1 RETURNING billing_anchor`, [tenant.tenantId]);
    const start: Date = rows[0].billing_anchor;
    const end = new Date(start);
    end.setUTCMonth(end.getUTCMonth() + 1);
    if (issue) await new PeriodClosing(db(), testApp.clock, testApp.services.config.usageGraceHours).closeDue();
    // Stripe's renewal invoice covers the period that ended; its anchor is a few minutes later.
    return { tenant, periodStart: start.getTime() / 1000 + 300, periodEnd: end.getTime() / 1000 + 300 };
  }

  const invoiceEvent = (tenant: StripeTenant, type: 'invoice.paid' | 'invoice.payment_failed', ref: string, period: { periodStart: number; periodEnd: number }, created: number) =>
    signedStripeEvent(WEBHOOK_SECRET, type, { id: ref, object: 'invoice', customer: tenant.customerRef, period_start: period.periodStart, period_end: period.periodEnd }, { created });

  async function localInvoices(tenantId: string) {
    const { rows } = await sql(`SELECT status, provider_ref, paid_at, payment_failed_at FROM billing_invoices WHERE tenant_id = $1 ORDER BY period_start`, [tenantId]);
    return rows;
  }

  it('a failed then paid Stripe invoice shows on the local invoice of its period (GET /v1/billing), and a duplicate or older event changes nothing', async () => {
    const period = await tenantWithClosedPeriod();
    const { tenant } = period;
    const t = now();
    expect(await localInvoices(tenant.tenantId)).toEqual([{ status: 'open', provider_ref: null, paid_at: null, payment_failed_at: null }]);
    const failedEvent = invoiceEvent(tenant, 'invoice.payment_failed', 'in_a1', period, t - 30);
    expect((await deliver(failedEvent)).json().outcome).toBe('applied');
    expect(await localInvoices(tenant.tenantId)).toEqual([{ status: 'open', provider_ref: 'in_a1', paid_at: null, payment_failed_at: new Date((t - 30) * 1000) }]);

    expect((await deliver(invoiceEvent(tenant, 'invoice.paid', 'in_a1', period, t - 20))).json().outcome).toBe('applied');
    const paidInvoice = await localInvoices(tenant.tenantId);
    expect(paidInvoice).toEqual([{ status: 'paid', provider_ref: 'in_a1', paid_at: new Date((t - 20) * 1000), payment_failed_at: expect.any(Date) }]);
    // The duplicate, and a failure older than the payment arriving late: nothing moves.
    expect((await deliver(failedEvent)).json().outcome).toBe('duplicate');
    expect((await deliver(invoiceEvent(tenant, 'invoice.payment_failed', 'in_a1', period, t - 25))).json().outcome).toBe('stale');
    expect(await localInvoices(tenant.tenantId)).toEqual(paidInvoice);
    expect((await tenantRow(tenant.tenantId)).status).toBe('active');

    const overview = await testApp.app.inject({ method: 'GET', url: '/v1/billing', headers: bearer(tenant.accessToken) });
    expect(overview.json().invoices).toEqual([expect.objectContaining({ status: 'paid', providerRef: 'in_a1', paidAt: expect.any(String) })]);
  });

  it('events that arrive before the local invoice is issued, and out of order, are applied when it is', async () => {
    const period = await tenantWithClosedPeriod(false);
    const { tenant } = period;
    const t = now();
    // Paid arrives first, its earlier failure afterwards (stale for dunning).
    expect((await deliver(invoiceEvent(tenant, 'invoice.paid', 'in_b1', period, t - 10))).json().outcome).toBe('applied');
    expect((await deliver(invoiceEvent(tenant, 'invoice.payment_failed', 'in_b1', period, t - 20))).json().outcome).toBe('stale');
    expect(await localInvoices(tenant.tenantId)).toEqual([]);
    await new PeriodClosing(db(), testApp.clock, testApp.services.config.usageGraceHours).closeDue();
    expect(await localInvoices(tenant.tenantId)).toEqual([{ status: 'paid', provider_ref: 'in_b1', paid_at: new Date((t - 10) * 1000), payment_failed_at: null }]);
    expect((await tenantRow(tenant.tenantId)).status).toBe('active');
  });

  it("two Stripe invoices in one period (an upgrade's proration): the local invoice is paid when both are", async () => {
    const period = await tenantWithClosedPeriod(false);
    const { tenant } = period;
    const t = now();
    // Both before the period closes (the period-end job waits out the late-usage grace).
    await deliver(invoiceEvent(tenant, 'invoice.payment_failed', 'in_c2', { periodStart: period.periodStart + 86_400, periodEnd: period.periodStart + 86_400 }, t - 20));
    await deliver(invoiceEvent(tenant, 'invoice.paid', 'in_c1', period, t - 30));
    await new PeriodClosing(db(), testApp.clock, testApp.services.config.usageGraceHours).closeDue();
    expect(await localInvoices(tenant.tenantId)).toEqual([{ status: 'open', provider_ref: 'in_c2', paid_at: null, payment_failed_at: new Date((t - 20) * 1000) }]);
    expect((await tenantRow(tenant.tenantId)).status).toBe('past_due');
    await deliver(invoiceEvent(tenant, 'invoice.paid', 'in_c2', { periodStart: period.periodStart + 86_400, periodEnd: period.periodStart + 86_400 }, t - 10));
    expect(await localInvoices(tenant.tenantId)).toEqual([{ status: 'paid', provider_ref: 'in_c2', paid_at: new Date((t - 10) * 1000), payment_failed_at: expect.any(Date) }]);
    expect((await tenantRow(tenant.tenantId)).status).toBe('active');
  });
  it('a local invoice paid from Stripe opens again when another Stripe invoice of its period fails later, and is paid once that one is', async () => {
    const period = await tenantWithClosedPeriod();
    const { tenant } = period;
    const t = now();
    const proration = { periodStart: period.periodStart + 86_400, periodEnd: period.periodStart + 86_400 };
    await deliver(invoiceEvent(tenant, 'invoice.paid', 'in_d1', period, t - 30));
    expect(await localInvoices(tenant.tenantId)).toEqual([{ status: 'paid', provider_ref: 'in_d1', paid_at: new Date((t - 30) * 1000), payment_failed_at: null }]);

    // A second Stripe invoice of the same period (an upgrade's proration) fails afterwards.
    expect((await deliver(invoiceEvent(tenant, 'invoice.payment_failed', 'in_d2', proration, t - 20))).json().outcome).toBe('applied');
    expect(await localInvoices(tenant.tenantId)).toEqual([{ status: 'open', provider_ref: 'in_d2', paid_at: null, payment_failed_at: new Date((t - 20) * 1000) }]);
    expect((await tenantRow(tenant.tenantId)).status).toBe('past_due');
    const { rows: audits } = await sql(`SELECT before, after FROM audit_log WHERE tenant_id = $1 AND action = 'billing.invoice_failed'`, [tenant.tenantId]);
    expect(audits).toEqual([{ before: { status: 'paid', payment_failed_at: null }, after: expect.objectContaining({ status: 'open', provider_ref: 'in_d2' }) }]);

    await deliver(invoiceEvent(tenant, 'invoice.paid', 'in_d2', proration, t - 10));
    expect(await localInvoices(tenant.tenantId)).toEqual([{ status: 'paid', provider_ref: 'in_d2', paid_at: new Date((t - 10) * 1000), payment_failed_at: new Date((t - 20) * 1000) }]);
    expect((await tenantRow(tenant.tenantId)).status).toBe('active');
  });

  it('a stale failure that reopens a local invoice still makes the tenant past_due (the invoices decide, not only event order)', async () => {
    const period = await tenantWithClosedPeriod();
    const { tenant } = period;
    const t = now();
    const proration = { periodStart: period.periodStart + 86_400, periodEnd: period.periodStart + 86_400 };
    expect((await deliver(invoiceEvent(tenant, 'invoice.paid', 'in_f1', period, t - 10))).json().outcome).toBe('applied');
    // The proration's failure was created before that payment, so it is stale for dunning, yet it reopens the invoice.
    expect((await deliver(invoiceEvent(tenant, 'invoice.payment_failed', 'in_f2', proration, t - 20))).json().outcome).toBe('stale');
    expect(await localInvoices(tenant.tenantId)).toEqual([expect.objectContaining({ status: 'open', provider_ref: 'in_f2' })]);
    expect((await tenantRow(tenant.tenantId)).status).toBe('past_due');
    // A newer payment of some other Stripe invoice does not make it active while this one is unpaid.
    expect((await deliver(invoiceEvent(tenant, 'invoice.paid', 'in_f3', { periodStart: t, periodEnd: t }, t - 5))).json().outcome).toBe('applied');
    expect((await tenantRow(tenant.tenantId)).status).toBe('past_due');
    expect((await deliver(invoiceEvent(tenant, 'invoice.paid', 'in_f2', proration, t - 1))).json().outcome).toBe('applied');
    expect(await localInvoices(tenant.tenantId)).toEqual([expect.objectContaining({ status: 'paid' })]);
    expect(await tenantRow(tenant.tenantId)).toMatchObject({ status: 'active', announcements: 2 });
  });

  it('a stale failure that arrived before the local invoice was issued makes the tenant past_due when it is', async () => {
    const period = await tenantWithClosedPeriod(false);
    const { tenant } = period;
    const t = now();
    expect((await deliver(invoiceEvent(tenant, 'invoice.paid', 'in_g0', { periodStart: t, periodEnd: t }, t - 10))).json().outcome).toBe('applied');
    expect((await deliver(invoiceEvent(tenant, 'invoice.payment_failed', 'in_g1', period, t - 20))).json().outcome).toBe('stale');
    expect((await tenantRow(tenant.tenantId)).status).toBe('active');
    await new PeriodClosing(db(), testApp.clock, testApp.services.config.usageGraceHours).closeDue();
    expect(await localInvoices(tenant.tenantId)).toEqual([expect.objectContaining({ status: 'open', provider_ref: 'in_g1' })]);
    expect((await tenantRow(tenant.tenantId)).status).toBe('past_due');
  });

  it('a stale payment that settles the last unpaid invoice makes the tenant active; one that leaves a Stripe failure unpaid does not', async () => {
    const period = await tenantWithClosedPeriod();
    const { tenant } = period;
    const t = now();
    await deliver(invoiceEvent(tenant, 'invoice.payment_failed', 'in_h1', period, t - 40));
    expect((await tenantRow(tenant.tenantId)).status).toBe('past_due');
    // A renewal of the running period fails (no local invoice shows it yet), then the first is paid, stale behind it.
    await deliver(invoiceEvent(tenant, 'invoice.payment_failed', 'in_h2', { periodStart: t, periodEnd: t }, t - 15));
    expect((await deliver(invoiceEvent(tenant, 'invoice.paid', 'in_h1', period, t - 30))).json().outcome).toBe('stale');
    expect(await localInvoices(tenant.tenantId)).toEqual([expect.objectContaining({ status: 'paid', provider_ref: 'in_h1' })]);
    expect((await tenantRow(tenant.tenantId)).status).toBe('past_due');

    // A newer payment of another Stripe invoice arrives before it (stale behind that one): nothing is left unpaid.
    const other = await tenantWithClosedPeriod();
    await deliver(invoiceEvent(other.tenant, 'invoice.payment_failed', 'in_i1', other, t - 40));
    expect((await deliver(signedStripeEvent(WEBHOOK_SECRET, 'invoice.paid', { id: 'in_i0', object: 'invoice', customer: other.tenant.customerRef }, { created: t - 20 }))).json().outcome).toBe('applied');
    expect((await tenantRow(other.tenant.tenantId)).status).toBe('past_due');
    expect((await deliver(invoiceEvent(other.tenant, 'invoice.paid', 'in_i1', other, t - 30))).json().outcome).toBe('stale');
    expect(await localInvoices(other.tenant.tenantId)).toEqual([expect.objectContaining({ status: 'paid', provider_ref: 'in_i1' })]);
    expect((await tenantRow(other.tenant.tenantId)).status).toBe('active');
  });

  it('a local invoice paid without Stripe (the operator) stays paid when a Stripe invoice of its period fails', async () => {
    const period = await tenantWithClosedPeriod();
    const { tenant } = period;
    await sql(`UPDATE billing_invoices SET status = 'paid', paid_at = now() WHERE tenant_id = $1`, [tenant.tenantId]);
    await deliver(invoiceEvent(tenant, 'invoice.payment_failed', 'in_e1', period, now() - 10));
    expect(await localInvoices(tenant.tenantId)).toEqual([{ status: 'paid', provider_ref: null, paid_at: expect.any(Date), payment_failed_at: null }]);
  });
});

describe("the local periods follow the Stripe subscription's anchor", () => {
  const HOUR = 3_600_000;
  const hourOf = (at: number) => new Date(Math.floor(at / HOUR) * HOUR);
  const subscriptionEvent = (tenant: StripeTenant, type: string, subscriptionRef: string, anchor: Date, created: number) =>
    signedStripeEvent(
      WEBHOOK_SECRET,
      type,
      { id: subscriptionRef, object: 'subscription', customer: tenant.customerRef, status: 'active', billing_cycle_anchor: Math.floor(anchor.getTime() / 1000) },
      { created },
    );
  const rollup = (tenantId: string, at: Date, calls: number) =>
    sql(
      `INSERT INTO usage_rollups (tenant_id, metric, granularity, bucket_start, event_count, quantity_sum, quantity_max) VALUES ($1, 'api_calls', 'hour', $2, $3::bigint, $3::bigint, 1)`,
      [tenantId, at, calls],
    );

  it('cuts the running period where Stripe\'s began: usage on each side billed once, out of order and duplicates moving nothing, never back', async () => {
    const tenant = await stripeTenant('pro');
    const subscriptionRef = (await tenantRow(tenant.tenantId)).subscription_ref as string;
    const firstAnchor = hourOf(Date.now() - 20 * 86_400_000);
    await sql(`UPDATE tenants SET billing_anchor = $2 WHERE id = $1`, [tenant.tenantId, firstAnchor]);
    // Stripe's cycle began five days ago, half past the hour: the local period is cut on that hour.
    const stripeAnchor = new Date(hourOf(Date.now() - 5 * 86_400_000).getTime() + 30 * 60_000);
    const cut = hourOf(stripeAnchor.getTime());
    await rollup(tenant.tenantId, new Date(firstAnchor.getTime() + HOUR), 1_000_000);
    // Straddling the cut: the hour before it and the hour it begins.
    await rollup(tenant.tenantId, new Date(cut.getTime() - HOUR), 300_000);
    await rollup(tenant.tenantId, cut, 200_000);
    await rollup(tenant.tenantId, hourOf(Date.now() - 3 * 86_400_000), 400_000);
    // A downgrade waiting for the end of the period the tenant was in.
    const oldEnd = billingPeriod(firstAnchor, new Date()).end;
    await sql(`UPDATE billing_accounts SET scheduled_plan = 'free', scheduled_at = $2 WHERE tenant_id = $1`, [tenant.tenantId, oldEnd]);
    const t = now();

    const moved = subscriptionEvent(tenant, 'customer.subscription.updated', subscriptionRef, stripeAnchor, t - 20);
    expect((await deliver(moved)).json().outcome).toBe('applied');
    expect((await deliver(moved)).json().outcome).toBe('duplicate');
    // Out of order: the subscription's creation, with the anchor it had then, arrives late.
    expect((await deliver(subscriptionEvent(tenant, 'customer.subscription.created', subscriptionRef, firstAnchor, t - 60))).json().outcome).toBe('stale');
    // A newer event naming an older anchor does not move it back.
    const older = new Date(firstAnchor.getTime() + 2 * 86_400_000);
    expect((await deliver(subscriptionEvent(tenant, 'customer.subscription.updated', subscriptionRef, older, t - 10))).json().outcome).toBe('applied');

    const { rows: tenants } = await sql(`SELECT billing_anchor FROM tenants WHERE id = $1`, [tenant.tenantId]);
    expect(tenants[0].billing_anchor).toEqual(stripeAnchor);
    const { rows: accounts } = await sql(`SELECT anchor_cuts FROM billing_accounts WHERE tenant_id = $1`, [tenant.tenantId]);
    expect(accounts[0].anchor_cuts).toEqual([
      { from_anchor: firstAnchor.toISOString(), to_anchor: stripeAnchor.toISOString(), cut_at: cut.toISOString(), subscription_ref: subscriptionRef, event_created_at: new Date((t - 20) * 1000).toISOString() },
    ]);
    const { rows: audits } = await sql(`SELECT after FROM audit_log WHERE tenant_id = $1 AND action = 'billing.anchor_moved'`, [tenant.tenantId]);
    expect(audits).toEqual([{ after: { billing_anchor: stripeAnchor.toISOString(), cut_at: cut.toISOString(), subscription: subscriptionRef } }]);

    // The cut period is invoiced on its own (settled: it ended five days ago), its share of the month.
    const closing = new PeriodClosing(testApp.services.db.withTables<BillingTables>(), testApp.clock, testApp.services.config.usageGraceHours);
    // A run that read the periods before the move issues nothing across the cut.
    expect(await closing.close(tenant.tenantId, billingPeriod(firstAnchor, firstAnchor))).toBeUndefined();
    await closing.closeDue();
    await closing.closeDue();
    const { rows: invoices } = await sql(`SELECT id, period_start, period_end, total_cents FROM billing_invoices WHERE tenant_id = $1`, [tenant.tenantId]);
    expect(invoices).toHaveLength(1);
    expect(invoices[0]).toMatchObject({ period_start: firstAnchor, period_end: cut });
    const month = billingPeriod(firstAnchor, firstAnchor);
    const planShare = Math.round((1500 * (cut.getTime() - firstAnchor.getTime())) / (month.end.getTime() - month.start.getTime()));
    const { rows: lines } = await sql(`SELECT kind, quantity, amount_cents FROM billing_invoice_lines WHERE invoice_id = $1 ORDER BY position`, [invoices[0].id]);
    // 1,300,000 calls before the cut: 300,000 over the million included.
    expect(lines).toEqual([
      { kind: 'plan', quantity: '1', amount_cents: String(planShare) },
      { kind: 'overage', quantity: '300000', amount_cents: '3000' },
    ]);
    expect(Number(invoices[0].total_cents)).toBe(planShare + 3000);
    // Its overage is reported to Stripe once, as any period's.
    await new UsageReporting(testApp.services.db.withTables<BillingTables>(), billingProviderFor(testApp.services.config), testApp.clock).reportDue(testApp.services.logger);
    expect(stripe.meterEvents.get(meterEventIdentifier(tenant.tenantId, 'api_calls', firstAnchor))).toMatchObject({ 'payload[value]': '300000' });

    // The running period is Stripe's, for billing and metering alike, and holds the rest of the usage.
    const overview = (await testApp.app.inject({ method: 'GET', url: '/v1/billing', headers: bearer(tenant.accessToken) })).json();
    const stripePeriod = billingPeriod(stripeAnchor, new Date());
    expect(overview.period).toEqual({ start: cut.toISOString(), end: stripePeriod.end.toISOString() });
    expect(overview.usage.find((metric: { metric: string }) => metric.metric === 'api_calls').used).toBe(600_000);
    const usage = (await testApp.app.inject({ method: 'GET', url: '/v1/usage', headers: bearer(tenant.accessToken) })).json();
    expect(usage.from).toBe(cut.toISOString());
    // The waiting downgrade now waits for the end of Stripe's period, as Stripe's own does.
    expect(overview.pendingPlanChange).toEqual({ plan: 'free', at: stripePeriod.end.toISOString() });
  });

  it('a move arriving after the period it falls in was invoiced cuts at that invoice\'s end, never inside it', async () => {
    const tenant = await stripeTenant('pro');
    const subscriptionRef = (await tenantRow(tenant.tenantId)).subscription_ref as string;
    const firstAnchor = hourOf(Date.now() - 40 * 86_400_000);
    await sql(`UPDATE tenants SET billing_anchor = $2 WHERE id = $1`, [tenant.tenantId, firstAnchor]);
    const closing = new PeriodClosing(testApp.services.db.withTables<BillingTables>(), testApp.clock, testApp.services.config.usageGraceHours);
    await closing.closeDue();
    const invoiced = billingPeriod(firstAnchor, firstAnchor);
    // Stripe's cycle began twenty days ago, inside the period already invoiced.
    const stripeAnchor = hourOf(Date.now() - 20 * 86_400_000);
    expect(stripeAnchor < invoiced.end).toBe(true);
    expect((await deliver(subscriptionEvent(tenant, 'customer.subscription.updated', subscriptionRef, stripeAnchor, now()))).json().outcome).toBe('applied');
    const { rows: accounts } = await sql(`SELECT anchor_cuts FROM billing_accounts WHERE tenant_id = $1`, [tenant.tenantId]);
    expect(accounts[0].anchor_cuts).toEqual([expect.objectContaining({ to_anchor: stripeAnchor.toISOString(), cut_at: invoiced.end.toISOString() })]);
    const overview = (await testApp.app.inject({ method: 'GET', url: '/v1/billing', headers: bearer(tenant.accessToken) })).json();
    expect(overview.period).toEqual({ start: invoiced.end.toISOString(), end: billingPeriod(stripeAnchor, new Date()).end.toISOString() });
    const { rows: invoices } = await sql(`SELECT period_start, period_end FROM billing_invoices WHERE tenant_id = $1`, [tenant.tenantId]);
    expect(invoices).toEqual([{ period_start: invoiced.start, period_end: invoiced.end }]);
  });

  it("the period a cut made short is settled by the Stripe invoice issued at the cut (the new cycle's first), whatever the arrival order; the next period by its renewal", async () => {
    const tenant = await stripeTenant('pro');
    const subscriptionRef = (await tenantRow(tenant.tenantId)).subscription_ref as string;
    const DAY = 86_400_000;
    const firstAnchor = hourOf(Date.now() - 75 * DAY);
    await sql(`UPDATE tenants SET billing_anchor = $2 WHERE id = $1`, [tenant.tenantId, firstAnchor]);
    // Stripe's cycle was reset fifty days ago, at half past the hour: the local period is cut on that hour.
    const stripeAnchor = new Date(hourOf(Date.now() - 50 * DAY).getTime() + 30 * 60_000);
    const cut = hourOf(stripeAnchor.getTime());
    const s = (at: Date) => Math.floor(at.getTime() / 1000);
    const stripePeriod = billingPeriod(stripeAnchor, stripeAnchor);
    const invoice = (type: 'invoice.paid' | 'invoice.payment_failed', ref: string, start: Date, end: Date, created: number) =>
      signedStripeEvent(WEBHOOK_SECRET, type, { id: ref, object: 'invoice', customer: tenant.customerRef, period_start: s(start), period_end: s(end) }, { created });
    const t = s(stripeAnchor);
    // The invoice issued at the reset (it covers no time) fails, and arrives before the cut is made.
    expect((await deliver(invoice('invoice.payment_failed', 'in_reset', stripeAnchor, stripeAnchor, t + 20))).json().outcome).toBe('applied');
    expect((await deliver(subscriptionEvent(tenant, 'customer.subscription.updated', subscriptionRef, stripeAnchor, t + 30))).json().outcome).toBe('applied');
    // Stripe's renewal at the end of its first period covers that period.
    expect((await deliver(invoice('invoice.paid', 'in_renewal', stripePeriod.start, stripePeriod.end, s(stripePeriod.end) + 60))).json().outcome).toBe('applied');

    const closing = new PeriodClosing(testApp.services.db.withTables<BillingTables>(), testApp.clock, testApp.services.config.usageGraceHours);
    await closing.close(tenant.tenantId, { start: firstAnchor, end: cut, month: billingPeriod(firstAnchor, firstAnchor) });
    await closing.closeDue();
    const invoices = async () =>
      (await sql(`SELECT period_start, period_end, status, provider_ref FROM billing_invoices WHERE tenant_id = $1 ORDER BY period_start`, [tenant.tenantId])).rows;
    const next = billingPeriod(stripeAnchor, new Date(cut.getTime() + DAY));
    expect(await invoices()).toEqual([
      { period_start: firstAnchor, period_end: cut, status: 'open', provider_ref: 'in_reset' },
      { period_start: cut, period_end: next.end, status: 'paid', provider_ref: 'in_renewal' },
    ]);
    expect((await tenantRow(tenant.tenantId)).status).toBe('past_due');
    // Paid later: the short period is settled, and the tenant is square.
    expect((await deliver(invoice('invoice.paid', 'in_reset', stripeAnchor, stripeAnchor, now()))).json().outcome).toBe('applied');
    expect((await invoices()).map((row: { status: string }) => row.status)).toEqual(['paid', 'paid']);
    expect((await tenantRow(tenant.tenantId)).status).toBe('active');
  });

  it("an invoice's event delivered first does not make an older subscription update stale: the anchor still moves; subscription events stay ordered among themselves", async () => {
    const tenant = await stripeTenant('pro');
    const subscriptionRef = (await tenantRow(tenant.tenantId)).subscription_ref as string;
    await sql(`UPDATE tenants SET billing_anchor = $2 WHERE id = $1`, [tenant.tenantId, hourOf(Date.now() - 20 * 86_400_000)]);
    const stripeAnchor = hourOf(Date.now() - 3_600_000);
    const t = now();
    // Stripe's invoice of the change, created a second after the subscription's update, arrives first.
    expect((await deliver(signedStripeEvent(WEBHOOK_SECRET, 'invoice.paid', { id: 'in_j1', object: 'invoice', customer: tenant.customerRef }, { created: t - 9 }))).json().outcome).toBe('applied');
    expect((await deliver(subscriptionEvent(tenant, 'customer.subscription.updated', subscriptionRef, stripeAnchor, t - 10))).json().outcome).toBe('applied');
    expect((await sql(`SELECT billing_anchor FROM tenants WHERE id = $1`, [tenant.tenantId])).rows[0].billing_anchor).toEqual(stripeAnchor);
    expect((await deliver(subscriptionEvent(tenant, 'customer.subscription.created', subscriptionRef, stripeAnchor, t - 30))).json().outcome).toBe('stale');
    // And the invoices' order is their own: a failure older than the payment is still stale for dunning.
    expect((await deliver(signedStripeEvent(WEBHOOK_SECRET, 'invoice.payment_failed', { id: 'in_j1', object: 'invoice', customer: tenant.customerRef }, { created: t - 9 - 5 }))).json().outcome).toBe('stale');
    expect((await tenantRow(tenant.tenantId)).status).toBe('active');
  });

  it('an incomplete subscription moves no anchor, nor does it when it expires; once paid (active) it does', async () => {
    const tenant = await stripeTenant('pro');
    const subscriptionRef = (await tenantRow(tenant.tenantId)).subscription_ref as string;
    const firstAnchor = hourOf(Date.now() - 20 * 86_400_000);
    await sql(`UPDATE tenants SET billing_anchor = $2 WHERE id = $1`, [tenant.tenantId, firstAnchor]);
    const stripeAnchor = hourOf(Date.now() - 2 * 3_600_000);
    const withStatus = (type: string, ref: string, status: string, created: number) =>
      signedStripeEvent(WEBHOOK_SECRET, type, { id: ref, object: 'subscription', customer: tenant.customerRef, status, billing_cycle_anchor: Math.floor(stripeAnchor.getTime() / 1000) }, { created });
    const t = now();
    const anchorNow = async () => (await sql(`SELECT t.billing_anchor, b.anchor_cuts FROM tenants t JOIN billing_accounts b ON b.tenant_id = t.id WHERE t.id = $1`, [tenant.tenantId])).rows[0];
    expect((await deliver(withStatus('customer.subscription.created', 'sub_incomplete', 'incomplete', t - 30))).json().outcome).toBe('applied');
    expect(await anchorNow()).toEqual({ billing_anchor: firstAnchor, anchor_cuts: [] });
    expect((await deliver(withStatus('customer.subscription.updated', 'sub_incomplete', 'incomplete_expired', t - 20))).json().outcome).toBe('applied');
    expect(await anchorNow()).toEqual({ billing_anchor: firstAnchor, anchor_cuts: [] });
    expect((await deliver(withStatus('customer.subscription.updated', subscriptionRef, 'active', t - 10))).json().outcome).toBe('applied');
    expect(await anchorNow()).toEqual({ billing_anchor: stripeAnchor, anchor_cuts: [expect.objectContaining({ cut_at: stripeAnchor.toISOString(), subscription_ref: subscriptionRef })] });
  });

  it('a move made by a subscription that then expired incomplete is undone while the period it cut short is not invoiced; afterwards it stays', async () => {
    const DAY = 86_400_000;
    // The move as the code before the rule made it for an incomplete subscription (an event it accepts today only from a running one).
    async function movedBy(subscriptionRef: string, firstAnchor: Date, stripeAnchor: Date) {
      const tenant = await stripeTenant('pro');
      await sql(`UPDATE tenants SET billing_anchor = $2 WHERE id = $1`, [tenant.tenantId, firstAnchor]);
      await sql(`UPDATE billing_accounts SET scheduled_plan = 'free', scheduled_at = $2 WHERE tenant_id = $1`, [tenant.tenantId, billingPeriod(firstAnchor, new Date()).end]);
      expect((await deliver(subscriptionEvent(tenant, 'customer.subscription.created', subscriptionRef, stripeAnchor, now() - 30))).json().outcome).toBe('applied');
      return tenant;
    }
    const expire = (tenant: StripeTenant, subscriptionRef: string, type = 'customer.subscription.updated') =>
      deliver(signedStripeEvent(WEBHOOK_SECRET, type, { id: subscriptionRef, object: 'subscription', customer: tenant.customerRef, status: 'incomplete_expired' }, { created: now() - 10 }));
    const state = async (tenantId: string) =>
      (await sql(`SELECT t.billing_anchor, b.anchor_cuts, b.scheduled_at FROM tenants t JOIN billing_accounts b ON b.tenant_id = t.id WHERE t.id = $1`, [tenantId])).rows[0];

    const firstAnchor = hourOf(Date.now() - 20 * DAY);
    const stripeAnchor = hourOf(Date.now() - 3 * 3_600_000);
    const a = await movedBy('sub_expiring_a', firstAnchor, stripeAnchor);
    expect((await state(a.tenantId)).billing_anchor).toEqual(stripeAnchor);
    // Another subscription expiring changes nothing; this one's expiry undoes the move.
    expect((await expire(a, 'sub_someone_else')).json().outcome).toBe('applied');
    expect((await state(a.tenantId)).billing_anchor).toEqual(stripeAnchor);
    expect((await expire(a, 'sub_expiring_a')).json().outcome).toBe('applied');
    expect(await state(a.tenantId)).toEqual({ billing_anchor: firstAnchor, anchor_cuts: [], scheduled_at: billingPeriod(firstAnchor, new Date()).end });
    const { rows: audits } = await sql(`SELECT after FROM audit_log WHERE tenant_id = $1 AND action = 'billing.anchor_moved' ORDER BY created_at`, [a.tenantId]);
    expect(audits.at(-1).after).toEqual({ billing_anchor: firstAnchor.toISOString(), undone: 'sub_expiring_a', cause: 'incomplete_expired' });
    const usage = (await testApp.app.inject({ method: 'GET', url: '/v1/usage', headers: bearer(a.accessToken) })).json();
    expect(usage.from).toBe(billingPeriod(firstAnchor, new Date()).start.toISOString());

    // Told as the deletion of the tenant's current subscription: the move is undone and the plan
    // ends, with the downgrade that waited for the period's end.
    const c = await movedBy('sub_expiring_c', firstAnchor, stripeAnchor);
    expect((await expire(c, 'sub_expiring_c', 'customer.subscription.deleted')).json().outcome).toBe('applied');
    expect(await state(c.tenantId)).toEqual({ billing_anchor: firstAnchor, anchor_cuts: [], scheduled_at: null });
    expect((await tenantRow(c.tenantId)).plan).toBe('free');

    // The period it cut short already invoiced: the cut is settled history and stays.
    const oldAnchor = hourOf(Date.now() - 75 * DAY);
    const oldCut = hourOf(Date.now() - 50 * DAY);
    const b = await movedBy('sub_expiring_b', oldAnchor, oldCut);
    await new PeriodClosing(testApp.services.db.withTables<BillingTables>(), testApp.clock, testApp.services.config.usageGraceHours).closeDue();
    const before = await state(b.tenantId);
    expect(before.anchor_cuts).toHaveLength(1);
    expect((await expire(b, 'sub_expiring_b')).json().outcome).toBe('applied');
    expect(await state(b.tenantId)).toEqual(before);
  });

  it('a subscription anchored in the hour the periods already start on moves nothing', async () => {
    const tenant = await stripeTenant('pro');
    const subscriptionRef = (await tenantRow(tenant.tenantId)).subscription_ref as string;
    const { rows } = await sql(`SELECT billing_anchor FROM tenants WHERE id = $1`, [tenant.tenantId]);
    const sameHour = new Date(Math.min(hourOf(rows[0].billing_anchor.getTime()).getTime() + HOUR - 1000, Date.now()));
    expect((await deliver(subscriptionEvent(tenant, 'customer.subscription.created', subscriptionRef, sameHour, now()))).json().outcome).toBe('applied');
    const { rows: after } = await sql(`SELECT billing_anchor FROM tenants WHERE id = $1`, [tenant.tenantId]);
    expect(after[0].billing_anchor).toEqual(rows[0].billing_anchor);
    const { rows: accounts } = await sql(`SELECT anchor_cuts FROM billing_accounts WHERE tenant_id = $1`, [tenant.tenantId]);
    expect(accounts[0].anchor_cuts).toEqual([]);
  });
});

describe('metered usage at period end', () => {
  it('reports each period\'s overage once per metric, with an identifier from tenant + metric + period that re-runs keep', async () => {
    const tenant = await stripeTenant('pro');
    const { rows } = await sql(
      `UPDATE tenants SET billing_anchor = date_trunc('hour', now() - interval '40 days') WHERE id = $1 RETURNING billing_anchor`,
      [tenant.tenantId],
    );
    const periodStart: Date = rows[0].billing_anchor;
    await sql(
      `INSERT INTO usage_rollups (tenant_id, metric, granularity, bucket_start, event_count, quantity_sum, quantity_max)
       VALUES ($1, 'api_calls', 'hour', $2, 1250000, 1250000, 1)`,
      [tenant.tenantId, periodStart],
    );
    const db = testApp.services.db.withTables<BillingTables>();
    await new PeriodClosing(db, testApp.clock, testApp.services.config.usageGraceHours).closeDue();
    const reporting = new UsageReporting(db, billingProviderFor(testApp.services.config), testApp.clock);
    const identifier = meterEventIdentifier(tenant.tenantId, 'api_calls', periodStart);
    const sentFor = () => stripe.calls.filter((call) => call.path === '/v1/billing/meter_events' && call.params['payload[stripe_customer_id]'] === tenant.customerRef);

    // Stripe is down for the first attempt: the ledger row waits, unreported.
    stripe.failNext('/v1/billing/meter_events', 3);
    await reporting.reportDue(testApp.services.logger);
    const pending = await sql(`SELECT identifier, quantity, reported_at FROM billing_usage_reports WHERE tenant_id = $1`, [tenant.tenantId]);
    expect(pending.rows).toEqual([{ identifier, quantity: '250000', reported_at: null }]);

    await reporting.reportDue(testApp.services.logger);
    await reporting.reportDue(testApp.services.logger);
    const accepted = sentFor().filter((call) => stripe.meterEvents.get(call.params.identifier!) === call.params || stripe.meterEvents.has(call.params.identifier!));
    expect(new Set(accepted.map((call) => call.params.identifier))).toEqual(new Set([identifier]));
    expect(stripe.meterEvents.get(identifier)).toMatchObject({ event_name: 'api_calls', 'payload[value]': '250000' });
    // Every attempt carried the same identifier; after it was accepted nothing more was sent.
    expect(sentFor().every((call) => call.params.identifier === identifier && call.idempotencyKey === identifier)).toBe(true);
    const attempts = sentFor().length;
    await reporting.reportDue(testApp.services.logger);
    expect(sentFor()).toHaveLength(attempts);
    const reported = await sql(`SELECT count(*)::int AS n FROM billing_usage_reports WHERE tenant_id = $1 AND reported_at IS NOT NULL`, [tenant.tenantId]);
    expect(reported.rows[0].n).toBe(1);
  });
});
