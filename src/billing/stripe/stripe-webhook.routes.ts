// POST /v1/billing/webhooks/stripe: Stripe's calls, verified on the raw body. This plugin is the
// only one whose JSON parser keeps the bytes (a Buffer): re-serializing a parsed body would not
// reproduce what Stripe signed. The answer comes as soon as the event's one short unit commits;
// what follows from it (announcements, cache invalidation, email) leaves through the outbox.

import { Type } from 'typebox';
import type { Clock } from '../../clock.js';
import { access } from '../../http/access.js';
import { problems } from '../../http/common-schemas.js';
import { AppError } from '../../http/problems.js';
import type { ModuleRoutes } from '../../modules/module.js';
import type { StripeEventHandler } from './stripe-event-handler.js';
import { verifyStripeSignature } from './stripe-signature.js';

export interface StripeWebhookRouteDeps {
  /** Undefined on the local provider: the route answers 404. */
  readonly stripeWebhooks: { readonly handler: StripeEventHandler; readonly secret: string } | undefined;
  readonly clock: Clock;
}

const WEBHOOK_BODY_LIMIT = 512 * 1024;

const Received = Type.Object(
  {
    received: Type.Literal(true),
    outcome: Type.Union([Type.Literal('applied'), Type.Literal('duplicate'), Type.Literal('stale'), Type.Literal('ignored'), Type.Literal('unknown-customer')]),
  },
  { additionalProperties: false },
);

export const stripeWebhookRoutes: ModuleRoutes<StripeWebhookRouteDeps> = async (app, { stripeWebhooks, clock }) => {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT }, (_request, body, done) => done(null, body));

  app.post(
    '/v1/billing/webhooks/stripe',
    {
      config: { access: access.public },
      schema: {
        tags: ['billing'],
        summary: "Stripe's webhook: checkout completed, invoice paid or failed, subscription created, updated or deleted (signed by Stripe)",
        // Printable ASCII (t=…,v1=…); what it says is checked against the body in the handler.
        headers: Type.Object({ 'stripe-signature': Type.Optional(Type.String({ maxLength: 4096, pattern: '^[ -~]+$' })) }),
        response: { 200: Received, ...problems('invalid-webhook-signature', 'not-found') },
      },
    },
    async (request) => {
      if (!stripeWebhooks) throw new AppError('not-found', 'Stripe is not configured on this server');
      if (!Buffer.isBuffer(request.body)) throw new AppError('invalid-webhook-signature', 'the body must be the JSON Stripe signed');
      const event = verifyStripeSignature(request.body, request.headers['stripe-signature'], stripeWebhooks.secret, clock);
      const outcome = await stripeWebhooks.handler.handle(event);
      request.log.info({ eventId: event.id, eventType: event.type, outcome }, 'Stripe event received');
      return { received: true as const, outcome };
    },
  );
};
