// Creates a tenant with its owner, owner membership, first API key and a session, in one
// transaction: any failure (a taken slug, a bad password, a dropped connection) leaves nothing.

import { generateApiKey } from '../../auth/api-key-format.js';
import { sha256 } from '../../auth/opaque-tokens.js';
import { hashPassword, verifyPassword } from '../../auth/passwords.js';
import type { Sessions, TokenPair } from '../../auth/sessions.js';
import { insertOrFindUser } from '../../auth/user-repository.js';
import type { Database } from '../../db/database.js';
import { isUniqueViolation } from '../../db/constraint-violation.js';
import { newId } from '../../db/ids.js';
import type { Tenant, User } from '../../db/tables.js';
import { AppError } from '../../http/problems.js';
import { currentContext, runWithContext } from '../context.js';
import { insertMembership } from '../membership-repository.js';
import { insertTenant } from '../tenant-repository.js';
import { assertValidSlug } from './slug.js';

export interface ProvisionInput {
  readonly name: string;
  readonly slug: string;
  readonly subdomain?: string | undefined;
  readonly plan?: string | undefined;
  readonly owner: { readonly email: string; readonly password: string; readonly name: string };
}

export interface ProvisionedTenant {
  readonly tenant: Tenant;
  readonly owner: User;
  readonly apiKey: { id: string; name: string; prefix: string; key: string };
  readonly session: TokenPair;
}

export async function provisionTenant(
  deps: { db: Database; sessions: Sessions },
  input: ProvisionInput,
): Promise<ProvisionedTenant> {
  assertValidSlug(input.slug, 'slug');
  if (input.subdomain !== undefined) assertValidSlug(input.subdomain, 'subdomain');
  const tenantId = newId();
  const passwordHash = await hashPassword(input.owner.password);
  const key = generateApiKey();
  const requestId = currentContext()?.requestId ?? newId();

  return runWithContext({ requestId, tenantId }, () =>
    deps.db.tenant(async (tx) => {
      const tenant = await insertTenant(tx, {
        id: tenantId,
        name: input.name,
        slug: input.slug,
        subdomain: input.subdomain ?? null,
        plan: input.plan ?? 'free',
      }).catch((error: unknown) => {
        if (isUniqueViolation(error, 'tenants_slug_key')) throw new AppError('slug-taken', `slug "${input.slug}" is taken`);
        if (isUniqueViolation(error, 'tenants_subdomain_key')) {
          throw new AppError('subdomain-taken', `subdomain "${input.subdomain}" is taken`);
        }
        throw error;
      });

      const { user, created } = await insertOrFindUser(tx, {
        email: input.owner.email,
        name: input.owner.name,
        passwordHash,
      });
      if (!created) {
        if (user.status !== 'active') throw new AppError('conflict', 'the account with this email cannot sign in');
        // An existing person can found another tenant, but only by proving who they are.
        if (!(await verifyPassword(user.password_hash, input.owner.password))) throw new AppError('invalid-credentials');
      }

      await insertMembership(tx, { tenantId, userId: user.id, role: 'owner' });
      const apiKeyId = newId();
      await tx
        .insertInto('api_keys')
        .values({
          tenant_id: tenantId,
          id: apiKeyId,
          prefix: key.prefix,
          secret_hash: sha256(key.secret),
          name: 'Default key',
          role: 'admin',
          created_by: user.id,
        })
        .execute();
      const session = await deps.sessions.start(tx, user.id, tenantId);
      return { tenant, owner: user, apiKey: { id: apiKeyId, name: 'Default key', prefix: key.prefix, key: key.token }, session };
    }),
  );
}
