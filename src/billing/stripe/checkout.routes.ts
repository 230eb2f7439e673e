// POST /v1/billing/checkout (tenant admins): the Checkout page's address, for a tenant without
// a payment method. A write only at Stripe, so a suspended tenant can still pay this way.

import { Type } from 'typebox';
import { access, actorOf } from '../../http/access.js';
import { problems } from '../../http/common-schemas.js';
import type { ModuleRoutes } from '../../modules/module.js';
import type { BillingCheckout } from './checkout.js';

export interface CheckoutRouteDeps {
  readonly billingCheckout: BillingCheckout;
}

const CheckoutBody = Type.Object(
  { plan: Type.Optional(Type.String({ minLength: 1, maxLength: 40, pattern: '^[a-z][a-z0-9_-]*$', description: "The plan to buy; the tenant's own by default" })) },
  { additionalProperties: false },
);

const CheckoutView = Type.Object({ url: Type.String(), plan: Type.String() }, { additionalProperties: false });

export const checkoutRoutes: ModuleRoutes<CheckoutRouteDeps> = async (app, { billingCheckout }) => {
  app.post(
    '/v1/billing/checkout',
    {
      config: { access: access.tenant('admin') },
      schema: {
        tags: ['billing'],
        summary: 'A Stripe Checkout page where a tenant without a payment method adds one (409 on the local provider)',
        security: [{ bearer: [] }],
        body: CheckoutBody,
        response: { 200: CheckoutView, ...problems(401, 403, 'conflict') },
      },
    },
    async (request) => billingCheckout.start(actorOf(request), request.body?.plan),
  );
};
