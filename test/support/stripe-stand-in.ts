// A local stand-in for the parts of Stripe's API Tenantry calls, for tests. It answers like
// Stripe (JSON objects with ids, form-encoded requests), keeps idempotency keys (the same key
// answers the same object) and meter event identifiers (the same identifier is counted once),
// records every call, and CHECKS each request's shape: the secret key as a bearer token,
// form-encoded bodies, an Idempotency-Key on every create. A request that breaks a rule gets
// Stripe's 400 error shape and is listed in `violations`, which tests expect to stay empty.
// Stripe's webhooks are made here too: signed with the SDK's generateTestHeaderString.

import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import Stripe from 'stripe';

export interface StandInCall {
  readonly method: string;
  readonly path: string;
  readonly params: Record<string, string>;
  readonly idempotencyKey: string | undefined;
}

export interface StripeStandIn {
  readonly url: string;
  readonly secretKey: string;
  readonly calls: StandInCall[];
  readonly violations: string[];
  /** Objects created, by kind (customers, subscriptions, sessions); replays are not counted. */
  readonly created: Record<string, Record<string, unknown>[]>;
  /** Meter events counted, by identifier (a repeated identifier is not counted again). */
  readonly meterEvents: Map<string, Record<string, string>>;
  /**
   * What a customer finishing Checkout in setup mode leaves at Stripe: a SetupIntent (succeeded
   * unless told otherwise) holding a new card of that customer. Answers the SetupIntent's id.
   */
  confirmSetup(customerRef: string, status?: 'succeeded' | 'requires_payment_method'): { setupRef: string; paymentMethodRef: string };
  /** Forgets every idempotency key, as Stripe does after 24 hours. */
  expireIdempotencyKeys(): void;
  /** Makes the next `count` requests to `path` answer 500 (a Stripe outage). */
  failNext(path: string, count?: number): void;
  close(): Promise<void>;
}

const CREATES = new Set(['/v1/customers', '/v1/subscriptions', '/v1/checkout/sessions', '/v1/billing/meter_events']);

export async function startStripeStandIn(secretKey = `sk_test_${randomBytes(12).toString('hex')}`): Promise<StripeStandIn> {
  const app: FastifyInstance = Fastify();
  const calls: StandInCall[] = [];
  const violations: string[] = [];
  const created: Record<string, Record<string, unknown>[]> = { customers: [], subscriptions: [], sessions: [] };
  const meterEvents = new Map<string, Record<string, string>>();
  const byKey = new Map<string, unknown>();
  const subscriptions = new Map<string, Record<string, unknown>>();
  const setupIntents = new Map<string, Record<string, unknown>>();
  const noSuch = (what: string) => ({ statusCode: 404, body: { error: { type: 'invalid_request_error', message: `No such ${what}` } } });
  const failures = new Map<string, number>();
  let sequence = 0;
  const nextId = (prefix: string) => `${prefix}_standin${(sequence += 1).toString().padStart(6, '0')}`;

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  const refuse = (message: string) => {
    violations.push(message);
    return { statusCode: 400, body: { error: { type: 'invalid_request_error', message } } };
  };

  /** The rules every request keeps; undefined when it keeps them. */
  function check(request: FastifyRequest, params: Record<string, string>): string | undefined {
    const path = request.url.split('?')[0]!;
    if (request.headers.authorization !== `Bearer ${secretKey}`) return `${request.method} ${path}: authorization is not the secret key as a bearer token`;
    if (!request.headers['stripe-version']) return `${request.method} ${path}: no Stripe-Version header`;
    if (request.method === 'POST' && !String(request.headers['content-type']).startsWith('application/x-www-form-urlencoded')) {
      return `${request.method} ${path}: body is not form-encoded`;
    }
    const key = request.headers['idempotency-key'];
    if (request.method === 'POST' && CREATES.has(path) && (typeof key !== 'string' || key.startsWith('stripe-node-retry-'))) {
      return `POST ${path}: no Idempotency-Key of the caller's own`;
    }
    for (const name of Object.keys(params)) if (!/^[a-z_]+(\[[a-z0-9_]+\])*$/.test(name)) return `${request.method} ${path}: parameter "${name}" is not one Stripe knows`;
    return undefined;
  }

  const routes: Array<[string, string, (params: Record<string, string>, id?: string) => { statusCode?: number; body: unknown }]> = [
    ['POST', '/v1/customers', (params) => {
      const customer = { id: nextId('cus'), object: 'customer', created: Math.floor(Date.now() / 1000), metadata: { tenant_id: params['metadata[tenant_id]'] } };
      created.customers!.push(customer);
      return { body: customer };
    }],
    ['POST', '/v1/customers/:id', (params, id) => {
      const customer = created.customers!.find((candidate) => candidate.id === id);
      if (!customer) return noSuch('customer');
      const paymentMethod = params['invoice_settings[default_payment_method]'];
      if (paymentMethod !== undefined) {
        const owned = [...setupIntents.values()].some((intent) => intent.customer === id && intent.payment_method === paymentMethod);
        if (!owned) return refuse(`POST /v1/customers/${id}: payment method ${paymentMethod} is not attached to this customer`);
        customer.invoice_settings = { default_payment_method: paymentMethod };
      }
      return { body: customer };
    }],
    ['GET', '/v1/setup_intents/:id', (_params, id) => {
      const intent = setupIntents.get(id!);
      return intent ? { body: intent } : noSuch('setup_intent');
    }],
    // Stripe's search language, the one form Tenantry uses: an exact metadata match.
    ['GET', '/v1/customers/search', (params) => {
      const match = /^metadata\['([a-z_]+)'\]:'([^'\\]+)'$/.exec(params.query ?? '');
      if (!match) return refuse(`GET /v1/customers/search: query "${params.query}" is not metadata['key']:'value'`);
      if (params.limit !== undefined && !/^\d+$/.test(params.limit)) return refuse('GET /v1/customers/search: limit must be a whole number');
      const [, key, value] = match;
      const data = created.customers!.filter((customer) => (customer.metadata as Record<string, string>)[key!] === value).slice(0, Number(params.limit ?? 10));
      return { body: { object: 'search_result', url: '/v1/customers/search', data, has_more: false, next_page: null } };
    }],
    ['GET', '/v1/subscriptions', (params) => {
      if (!params.customer) return refuse('GET /v1/subscriptions: this stand-in lists one customer\'s subscriptions only');
      const data = [...subscriptions.values()].filter((subscription) => subscription.customer === params.customer && subscription.status !== 'canceled');
      return { body: { object: 'list', url: '/v1/subscriptions', data: data.slice(0, Number(params.limit ?? 10)), has_more: false } };
    }],
    ['POST', '/v1/subscriptions', (params) => {
      if (!params.customer || !params['items[0][price]']) return refuse('POST /v1/subscriptions: customer and items[0][price] are required');
      const id = nextId('sub');
      const metadata = Object.fromEntries(Object.entries(params).flatMap(([name, value]) => (name.startsWith('metadata[') ? [[name.slice(9, -1), value]] : [])));
      const subscription = { id, object: 'subscription', customer: params.customer, status: 'incomplete', metadata, items: { object: 'list', data: [{ id: nextId('si'), price: { id: params['items[0][price]'] } }] } };
      subscriptions.set(id, subscription);
      created.subscriptions!.push(subscription);
      return { body: subscription };
    }],
    ['GET', '/v1/subscriptions/:id', (_params, id) => {
      const subscription = subscriptions.get(id!);
      return subscription ? { body: subscription } : { statusCode: 404, body: { error: { type: 'invalid_request_error', message: 'No such subscription' } } };
    }],
    ['POST', '/v1/subscriptions/:id', (params, id) => {
      const subscription = subscriptions.get(id!);
      if (!subscription) return { statusCode: 404, body: { error: { type: 'invalid_request_error', message: 'No such subscription' } } };
      if (params['items[0][price]']) subscription.items = { object: 'list', data: [{ id: params['items[0][id]'], price: { id: params['items[0][price]'] } }] };
      if (params.default_payment_method) subscription.default_payment_method = params.default_payment_method;
      return { body: subscription };
    }],
    ['DELETE', '/v1/subscriptions/:id', (_params, id) => {
      const subscription = subscriptions.get(id!);
      if (!subscription) return { statusCode: 404, body: { error: { type: 'invalid_request_error', message: 'No such subscription' } } };
      subscription.status = 'canceled';
      return { body: subscription };
    }],
    ['POST', '/v1/checkout/sessions', (params) => {
      for (const required of ['mode', 'customer', 'success_url', 'cancel_url']) if (!params[required]) return refuse(`POST /v1/checkout/sessions: ${required} is required`);
      if (params.mode === 'setup' && !params.currency) return refuse('POST /v1/checkout/sessions: setup mode needs currency');
      const id = nextId('cs');
      const session = { id, object: 'checkout.session', url: `https://checkout.stripe.test/c/pay/${id}`, ...params };
      created.sessions!.push(session);
      return { body: session };
    }],
    ['POST', '/v1/billing/meter_events', (params) => {
      for (const required of ['event_name', 'identifier', 'timestamp', 'payload[stripe_customer_id]', 'payload[value]']) {
        if (!params[required]) return refuse(`POST /v1/billing/meter_events: ${required} is required`);
      }
      if (!/^\d+$/.test(params['payload[value]']!)) return refuse('POST /v1/billing/meter_events: payload[value] must be a whole number');
      if (params.identifier!.length > 100) return refuse('POST /v1/billing/meter_events: identifier is longer than 100 characters');
      if (!meterEvents.has(params.identifier!)) meterEvents.set(params.identifier!, params);
      return { body: { object: 'billing.meter_event', ...params } };
    }],
  ];

  for (const [method, url, answer] of routes) {
    app.route({
      method: method as 'GET',
      url,
      handler: async (request, reply) => {
        const path = request.url.split('?')[0]!;
        // GET parameters travel in the query string, as the SDK sends them.
        const params = (request.method === 'GET' ? request.query : (request.body ?? {})) as Record<string, string>;
        const idempotencyKey = request.headers['idempotency-key'] as string | undefined;
        calls.push({ method: request.method, path, params, idempotencyKey });
        const failing = failures.get(path) ?? 0;
        if (failing > 0) {
          failures.set(path, failing - 1);
          return reply.code(500).send({ error: { type: 'api_error', message: 'stand-in outage' } });
        }
        const broken = check(request, params);
        if (broken) return reply.code(400).send(refuse(broken).body);
        // An idempotency key answers what it answered the first time (Stripe keeps it 24 h).
        const replayKey = idempotencyKey && request.method === 'POST' ? `${path}\n${idempotencyKey}` : undefined;
        if (replayKey && byKey.has(replayKey)) return reply.send(byKey.get(replayKey));
        const { statusCode = 200, body } = answer(params, (request.params as { id?: string }).id);
        if (replayKey && statusCode === 200) byKey.set(replayKey, body);
        return reply.code(statusCode).send(body);
      },
    });
  }

  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url: address,
    secretKey,
    calls,
    violations,
    created,
    meterEvents,
    confirmSetup(customerRef, status = 'succeeded') {
      const setupRef = nextId('seti');
      const paymentMethodRef = nextId('pm');
      setupIntents.set(setupRef, {
        id: setupRef,
        object: 'setup_intent',
        customer: customerRef,
        status,
        payment_method: status === 'succeeded' ? paymentMethodRef : null,
      });
      return { setupRef, paymentMethodRef };
    },
    expireIdempotencyKeys() {
      byKey.clear();
    },
    failNext(path, count = 1) {
      failures.set(path, count);
    },
    close: () => app.close(),
  };
}

const signer = new Stripe('sk_test_signing_only', { telemetry: false });

export interface SignedEvent {
  readonly id: string;
  readonly body: string;
  readonly signature: string;
}

/**
 * A Stripe event as Stripe sends it: `object` is the event's data.object, `created` (seconds)
 * orders it, the signature covers these exact bytes at `signedAt` (seconds; now by default).
 */
export function signedStripeEvent(
  secret: string,
  type: string,
  object: Record<string, unknown>,
  options: { id?: string; created?: number; signedAt?: number } = {},
): SignedEvent {
  const id = options.id ?? `evt_${randomBytes(12).toString('hex')}`;
  const created = options.created ?? Math.floor(Date.now() / 1000);
  // Stripe's own formatting: pretty-printed, so a re-serialized body differs byte for byte.
  const body = JSON.stringify({ id, object: 'event', api_version: '2026-10-28.endive', created, type, livemode: false, data: { object } }, null, 2);
  const signature = signer.webhooks.generateTestHeaderString({ payload: body, secret, ...(options.signedAt !== undefined ? { timestamp: options.signedAt } : {}) });
  return { id, body, signature };
}
