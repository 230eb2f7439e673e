// `tenants create` options checked exactly as POST /v1/tenants checks its body (same
// schema, same validator, same slug rules), each failure told as one line naming the option.

import type { ErrorObject } from 'ajv';
import { TEXT_PATTERN_RULES } from '../http/common-schemas.js';
import { AppError } from '../http/problems.js';
import { compileBodyValidator } from '../http/validation.js';
import type { ProvisionInput } from '../tenancy/provisioning/provision-tenant.js';
import { assertValidSlug } from '../tenancy/provisioning/slug.js';
import { CreateTenantBody } from '../tenancy/provisioning/tenants.schemas.js';

export interface TenantOptions {
  readonly name: string;
  readonly slug: string;
  readonly subdomain?: string;
  readonly plan: string;
  readonly ownerEmail: string;
  readonly ownerName: string;
  readonly ownerPassword?: string;
}

/** A mistake in the command line: printed as is, without a problem code. */
export class OptionError extends Error {
  override name = 'OptionError';
}

const OPTION_OF_FIELD: Record<string, string> = {
  '/name': '--name',
  '/slug': '--slug',
  '/subdomain': '--subdomain',
  '/plan': '--plan',
  '/owner/email': '--owner-email',
  '/owner/name': '--owner-name',
  '/owner/password': '--owner-password',
};

const validate = compileBodyValidator(CreateTenantBody);

function rule(issue: ErrorObject): string {
  const params = issue.params as { limit?: number; format?: string; pattern?: string };
  // The catalog is the operator's to edit: a plan that does not exist is refused by provisioning.
  if (issue.instancePath === '/plan') return 'must be a plan key (a lowercase letter, then lowercase letters, digits or underscores)';
  if (issue.keyword === 'minLength') return params.limit === 1 ? 'must not be empty' : `must be at least ${params.limit} characters`;
  if (issue.keyword === 'maxLength') return `must be at most ${params.limit} characters`;
  if (issue.keyword === 'format' && params.format === 'email') return 'must be an email address';
  if (issue.keyword === 'pattern') return TEXT_PATTERN_RULES.get(params.pattern ?? '') ?? 'is not valid';
  return issue.message ?? 'is not valid';
}

/** The provisioning input, or an OptionError naming the first option that is not valid. */
export function tenantInput(options: TenantOptions, passwordFromEnv: string | undefined): ProvisionInput {
  const password = options.ownerPassword ?? passwordFromEnv;
  if (password === undefined || password === '') throw new OptionError('--owner-password (or TENANTRY_OWNER_PASSWORD) is required');
  const body = {
    name: options.name,
    slug: options.slug,
    ...(options.subdomain === undefined ? {} : { subdomain: options.subdomain }),
    plan: options.plan,
    owner: { email: options.ownerEmail, password, name: options.ownerName },
  };
  if (!validate(body)) {
    const issue = validate.errors![0]!;
    throw new OptionError(`${OPTION_OF_FIELD[issue.instancePath] ?? issue.instancePath} ${rule(issue)}`);
  }
  try {
    assertValidSlug(body.slug, 'slug');
    if (body.subdomain !== undefined) assertValidSlug(body.subdomain, 'subdomain');
  } catch (error) {
    // Its detail starts with the field's name: "slug must be 3-63 ...".
    if (error instanceof AppError && error.detail) throw new OptionError(`--${error.detail}`);
    throw error;
  }
  return body;
}
