// The tenant's billing pages, for its admins: the overview and one invoice. Reads only, so a
// suspended (read-only) tenant keeps them.

import { access, actorOf } from '../http/access.js';
import { IdParams, problems } from '../http/common-schemas.js';
import type { ModuleRoutes } from '../modules/module.js';
import type { BillingOverviewReader } from './billing-overview.js';
import { BillingOverviewView, InvoiceView, invoiceSummaryView, overviewView, storedLineView } from './billing.schemas.js';

export interface BillingRouteDeps {
  readonly billingOverview: BillingOverviewReader;
}

export const billingRoutes: ModuleRoutes<BillingRouteDeps> = async (app, { billingOverview }) => {
  const security = [{ bearer: [] }];

  app.get(
    '/v1/billing',
    {
      config: { access: access.tenant('admin') },
      schema: {
        tags: ['billing'],
        summary: "The tenant's plan, billing period, usage against the plan, upcoming invoice, projected cost and past invoices",
        security,
        response: { 200: BillingOverviewView },
      },
    },
    async (request) => overviewView(await billingOverview.read(actorOf(request))),
  );

  app.get(
    '/v1/billing/invoices/:id',
    {
      config: { access: access.tenant('admin') },
      schema: {
        tags: ['billing'],
        summary: 'One of the tenant\'s invoices with its lines',
        security,
        params: IdParams,
        response: { 200: InvoiceView, ...problems('not-found') },
      },
    },
    async (request) => {
      const { invoice, lines } = await billingOverview.invoice(actorOf(request), request.params.id);
      return { ...invoiceSummaryView(invoice), lines: lines.map(storedLineView) };
    },
  );
};
