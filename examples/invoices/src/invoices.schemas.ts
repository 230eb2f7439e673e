// Request and response shapes of /v1/invoices, in TypeBox like Tenantry's own routes: they
// validate requests and document the API in Tenantry's OpenAPI document.

import { Type } from 'typebox';
import { FixedOrderPageQuery, PageOf, Text, TimestampSchema, Uuid } from 'tenantry';

export const InvoiceStatusSchema = Type.Union([Type.Literal('open'), Type.Literal('overdue'), Type.Literal('void')]);

export const CreateInvoiceBody = Type.Object(
  {
    number: Text({ minLength: 1, maxLength: 40, nonBlank: true, description: 'Unique among the tenant’s live invoices' }),
    customerEmail: Type.String({ format: 'email', minLength: 3, maxLength: 320 }),
    amountCents: Type.Integer({ minimum: 1, maximum: 2_000_000_000 }),
    currency: Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code, e.g. EUR' }),
    dueAt: TimestampSchema,
  },
  { additionalProperties: false },
);

export const ListInvoicesQuery = Type.Object({ ...FixedOrderPageQuery, status: Type.Optional(InvoiceStatusSchema) }, { additionalProperties: false });

export const InvoiceView = Type.Object({
  id: Uuid,
  number: Type.String(),
  customerEmail: Type.String(),
  amountCents: Type.Integer(),
  currency: Type.String(),
  status: InvoiceStatusSchema,
  dueAt: TimestampSchema,
  voidedAt: Type.Union([TimestampSchema, Type.Null()]),
  createdAt: TimestampSchema,
});

export const InvoiceList = PageOf(InvoiceView);

export const OverdueCheckAccepted = Type.Object({ status: Type.Literal('queued') });
