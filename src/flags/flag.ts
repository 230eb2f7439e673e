// A flag definition: boolean, variant (any JSON value) or percentage rollout.

export type FlagKind = 'boolean' | 'variant' | 'rollout';
export type BucketAttribute = 'tenantId' | 'userId';

export interface FlagDefinition {
  readonly key: string;
  readonly kind: FlagKind;
  readonly description: string;
  /** A boolean for boolean flags, any JSON for variants, false for rollouts. */
  readonly defaultValue: unknown;
  /** Rollouts only: tenants whose bucket (0..9999) is below this get true; 2500 = 25%. */
  readonly rolloutBasisPoints: number | null;
  readonly bucketBy: BucketAttribute;
  /** Tenant admins may set their own value. */
  readonly tenantEditable: boolean;
}

/** A flag_definitions row as the rest of the code sees it. */
export function flagDefinitionFromRow(row: {
  key: string;
  kind: FlagKind;
  description: string;
  default_value: unknown;
  rollout_basis_points: number | null;
  bucket_by: BucketAttribute;
  tenant_editable: boolean;
}): FlagDefinition {
  return {
    key: row.key,
    kind: row.kind,
    description: row.description,
    defaultValue: row.default_value,
    rolloutBasisPoints: row.rollout_basis_points,
    bucketBy: row.bucket_by,
    tenantEditable: row.tenant_editable,
  };
}

export class UnknownFlagError extends Error {
  override name = 'UnknownFlagError';
  constructor(readonly flagKey: string) {
    super(`no flag "${flagKey}"`);
  }
}
