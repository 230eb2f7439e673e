// Request and response schemas of the operator's billing routes.

import { Type } from 'typebox';
import { Text, Timestamp } from '../http/common-schemas.js';

export const StatusChangeBody = Type.Object(
  { reason: Text({ minLength: 1, maxLength: 500, nonBlank: true, description: 'Why: kept in the tenant\'s audit log' }) },
  { additionalProperties: false },
);

const TenantStatusSchema = Type.Union([Type.Literal('active'), Type.Literal('past_due'), Type.Literal('suspended'), Type.Literal('deleted')]);

export const StatusChangeView = Type.Object({
  tenantId: Type.String({ format: 'uuid' }),
  status: TenantStatusSchema,
  /** False when the tenant was already in (or could not leave for) that state: nothing changed. */
  changed: Type.Boolean(),
});

export const InvoiceActionView = Type.Object({
  invoiceId: Type.String({ format: 'uuid' }),
  invoiceStatus: Type.Union([Type.Literal('draft'), Type.Literal('open'), Type.Literal('paid'), Type.Literal('void')]),
  tenantStatus: TenantStatusSchema,
  paymentFailedAt: Type.Union([Timestamp, Type.Null()]),
});
