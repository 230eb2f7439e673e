// Response and query schemas of the platform-admin API.

import { Type } from 'typebox';
import { Timestamp } from '../http/common-schemas.js';
import { Cursor } from '../http/page.schemas.js';
import { TenantView } from '../tenancy/tenant-view.js';

export const AdminTenantView = Type.Object({
  ...TenantView.properties,
  deletedAt: Type.Union([Timestamp, Type.Null()]),
  members: Type.Integer(),
});

export const AdminTenantDetail = Type.Object({
  ...AdminTenantView.properties,
  counts: Type.Record(Type.String(), Type.Integer(), {
    description: "Live rows of the tenant's in each registered tenant table, by table name",
  }),
});

export const ListTenantsQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50, description: 'Rows per page' })),
    cursor: Cursor,
    status: Type.Optional(
      Type.Union([Type.Literal('active'), Type.Literal('past_due'), Type.Literal('suspended'), Type.Literal('deleted')]),
    ),
  },
  { additionalProperties: false },
);
