// /v1/invoices: viewers read, members create, admins void and run the overdue check. Access,
// validation, problem answers and tenant scoping are Tenantry's; this file only says what.

import type { Static } from 'typebox';
import { v7 as uuidv7 } from 'uuid';
import { access, actorOf, AppError, decodeCursor, defineProblem, encodeCursor, IdParams, problems, type Clock, type Jobs, type ModuleRoutes } from 'tenantry';
import type { InvoiceDatabase } from './invoice-tables.js';
import { findInvoice, insertInvoice, listInvoices, voidInvoice, type InvoiceRow } from './invoice-repository.js';
import { CreateInvoiceBody, InvoiceList, InvoiceView, ListInvoicesQuery, OverdueCheckAccepted } from './invoices.schemas.js';
import { markOverdueInvoicesJob } from './mark-overdue-job.js';

/** The module's own answer for a second void: more specific than the platform's `conflict`. */
export const invoiceAlreadyVoid = defineProblem({
  code: 'invoice-already-void',
  status: 409,
  title: 'The invoice is void already',
  type: 'https://invoices.example/problems/invoice-already-void',
});

function invoiceView(row: InvoiceRow): Static<typeof InvoiceView> {
  return {
    id: row.id,
    number: row.number,
    customerEmail: row.customer_email,
    amountCents: row.amount_cents,
    currency: row.currency,
    status: row.status,
    dueAt: row.due_at.toISOString(),
    voidedAt: row.voided_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
  };
}

/** What the routes use, built by the module's compose from Tenantry's services. */
export interface InvoicesRouteDeps {
  readonly db: InvoiceDatabase;
  readonly clock: Clock;
  readonly jobs: Jobs;
}

export const invoicesRoutes: ModuleRoutes<InvoicesRouteDeps> = async (app, { db, clock, jobs }) => {
  app.post(
    '/v1/invoices',
    {
      config: { access: access.tenant('member') },
      schema: {
        tags: ['invoices'],
        summary: 'Create an invoice',
        security: [{ bearer: [] }],
        body: CreateInvoiceBody,
        response: { 201: InvoiceView, ...problems('conflict') },
      },
    },
    async (request, reply) => {
      const { body } = request;
      const created = await db.tenant((tx) =>
        insertInvoice(tx, {
          id: uuidv7(),
          number: body.number,
          customerEmail: body.customerEmail,
          amountCents: body.amountCents,
          currency: body.currency,
          dueAt: new Date(body.dueAt),
          createdBy: actorOf(request).userId ?? null,
        }),
      ).catch((error: unknown) => {
        if ((error as { constraint?: string }).constraint === 'invoices_number_key') {
          throw new AppError('conflict', `invoice number ${body.number} is taken`, { field: 'number' });
        }
        throw error;
      });
      return reply.code(201).send(invoiceView(created));
    },
  );

  app.get(
    '/v1/invoices',
    {
      config: { access: access.tenant('viewer') },
      schema: {
        tags: ['invoices'],
        summary: 'Invoices, newest first, a page at a time, optionally of one status',
        security: [{ bearer: [] }],
        querystring: ListInvoicesQuery,
        response: { 200: InvoiceList },
      },
    },
    async (request) => {
      const { limit = 50, cursor, status } = request.query;
      const page = await db.tenant((tx) => listInvoices(tx, limit, decodeCursor(cursor, 'desc'), status));
      return { data: page.rows.map(invoiceView), nextCursor: page.next ? encodeCursor(page.next, 'desc') : null };
    },
  );

  app.get(
    '/v1/invoices/:id',
    {
      config: { access: access.tenant('viewer') },
      schema: {
        tags: ['invoices'],
        summary: 'One invoice',
        security: [{ bearer: [] }],
        params: IdParams,
        response: { 200: InvoiceView, ...problems('not-found') },
      },
    },
    async (request) => {
      const invoice = await db.tenant((tx) => findInvoice(tx, request.params.id));
      if (!invoice) throw new AppError('not-found', 'no invoice with this id');
      return invoiceView(invoice);
    },
  );

  app.post(
    '/v1/invoices/:id/void',
    {
      config: { access: access.tenant('admin') },
      schema: {
        tags: ['invoices'],
        summary: 'Void an invoice (once)',
        security: [{ bearer: [] }],
        params: IdParams,
        response: { 200: InvoiceView, ...problems('not-found', invoiceAlreadyVoid) },
      },
    },
    async (request) => {
      const { id } = request.params;
      const voided = await db.tenant(async (tx) => {
        const invoice = await findInvoice(tx, id);
        if (!invoice) throw new AppError('not-found', 'no invoice with this id');
        const result = await voidInvoice(tx, id, clock.now());
        if (!result) throw new AppError(invoiceAlreadyVoid, `invoice ${invoice.number} was voided at ${invoice.voided_at?.toISOString()}`);
        return result;
      });
      return invoiceView(voided);
    },
  );

  app.post(
    '/v1/invoices/overdue-check',
    {
      config: { access: access.tenant('admin') },
      schema: {
        tags: ['invoices'],
        summary: "Queue the job that marks this tenant's open invoices past due overdue",
        security: [{ bearer: [] }],
        response: { 202: OverdueCheckAccepted },
      },
    },
    async (request, reply) => {
      // In the request's unit of work: the job is queued once it commits (through the outbox).
      const { tenantId } = actorOf(request);
      await db.tenant((tx) => jobs.enqueue(tx, tenantId, markOverdueInvoicesJob, {}));
      return reply.code(202).send({ status: 'queued' as const });
    },
  );
};
