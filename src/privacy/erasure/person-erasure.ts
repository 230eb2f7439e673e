// Erasing a person: a user erases themselves everywhere (re-authenticated with their password),
// or a tenant's admin erases a departed member from that tenant only. Both run as the audited
// service role in one transaction, with a certificate; nothing is half-erased.

import type { Clock } from '../../clock.js';
import { platformTx, type Database, type Tx } from '../../db/database.js';
import type { Tables } from '../../db/tables.js';
import { newId } from '../../db/ids.js';
import { AppError } from '../../http/problems.js';
import type { ModuleRegistry } from '../../modules/registry.js';
import { findCredentialsByEmail, findUserById } from '../../accounts/user-repository.js';
import { verifyPassword } from '../../auth/passwords.js';
import { actorLabel, type Actor } from '../../tenancy/actor.js';
import type { PrivacyTables } from '../privacy-tables.js';
import { issueCertificate, type Certificate, type TableErasure } from './certificate.js';
import { eraseIdentity, revokeKeysOf } from './erase-credentials.js';
import { erasePersonRows } from './erase-person-rows.js';
import { erasePersonTables } from './erase-person-tables.js';
import { pseudonymOf, type ErasedPerson } from './erased-person.js';
import { withdrawExports } from './withdraw-exports.js';
import type { ExportStorage } from '../export/export-storage.js';

export const ERASE_PERSON_REASON = 'erase a person on their own request, in every tenant';
export const ERASE_MEMBER_REASON = 'erase a departed member from one tenant on its admin\'s request';

export interface ErasureOutcome {
  readonly certificate: Certificate;
}

type PrivacyDb = Database<Tables & PrivacyTables>;

export class PersonErasure {
  readonly #db: PrivacyDb;
  readonly #modules: ModuleRegistry;
  readonly #clock: Clock;
  readonly #key: Buffer;

  readonly #storage: ExportStorage;

  constructor(db: PrivacyDb, modules: ModuleRegistry, clock: Clock, key: Buffer, storage: ExportStorage) {
    this.#db = db;
    this.#modules = modules;
    this.#clock = clock;
    this.#key = key;
    this.#storage = storage;
  }

  /** POST /v1/me/erase: the signed-in user, who must repeat their current password. */
  async eraseSelf(userId: string, password: string): Promise<ErasureOutcome> {
    const account = await this.#db.identity({ userId }, (tx) => findUserById(platformTx(tx), userId));
    if (!account) throw new AppError('invalid-credentials');
    const credentials = await this.#db.identity({ email: account.email }, (tx) => findCredentialsByEmail(platformTx(tx)));
    if (credentials?.id !== userId || !(await verifyPassword(credentials.passwordHash, password))) throw new AppError('invalid-credentials');
    const now = this.#clock.now();
    const pseudonym = pseudonymOf(this.#key, userId);
    const certificate = await this.#db.service(ERASE_PERSON_REASON, async (tx) => {
      const person = await lockPerson(tx, userId);
      await refuseLastOwner(tx, userId);
      const tenants = await tenantsOf(tx, userId);
      await revokeKeysOf(platformTx(tx), person, now, undefined);
      const tables = await erasePersonRows(platformTx(tx), this.#modules.tenantTableDeclarations(), { person, pseudonym, tenantId: undefined });
      Object.assign(tables, await erasePersonTables(platformTx(tx), this.#modules.personTables, { person, pseudonym, tenantId: undefined }));
      // Each tenant keeps a record of the erasure, naming the pseudonym only.
      for (const tenantId of tenants) await recordErasure(tx, tenantId, `erased:${pseudonym}`, pseudonym, tables);
      const files = await withdrawExports(tx, this.#storage, tenants);
      const identity = await eraseIdentity(tx, this.#key, person, pseudonym, now);
      return issueCertificate(tx, this.#key, {
        kind: 'person',
        subject: pseudonym,
        scopeTenant: null,
        requestedBy: `erased:${pseudonym}`,
        erasedAt: now.toISOString(),
        body: { tables: { ...tables, users: { deleted: 0, updated: 1 }, sessions: { deleted: identity.sessions, updated: 0 } }, files },
      });
    });
    return { certificate };
  }

  /**
   * A departed member of the actor's tenant (their membership removed, its row kept): their
   * rows in this tenant only. Their account, and their rows in other tenants, stay.
   */
  async eraseDepartedMember(actor: Actor, userId: string): Promise<ErasureOutcome> {
    const membership = await this.#db.tenant((tx) =>
      tx.selectFrom('memberships').select(['user_id', 'deleted_at']).where('user_id', '=', userId).executeTakeFirst(),
    );
    if (!membership) throw new AppError('not-found', 'no member, present or past, with this id');
    if (!membership.deleted_at) throw new AppError('erasure-blocked', 'the user is still a member of this tenant: remove them first');
    const now = this.#clock.now();
    const pseudonym = pseudonymOf(this.#key, userId);
    const certificate = await this.#db.service(ERASE_MEMBER_REASON, async (tx) => {
      const person = await lockPerson(tx, userId);
      const live = await tx
        .selectFrom('memberships')
        .select('user_id')
        .where('tenant_id', '=', actor.tenantId)
        .where('user_id', '=', userId)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      if (live) throw new AppError('erasure-blocked', 'the user rejoined this tenant meanwhile');
      await revokeKeysOf(platformTx(tx), person, now, actor.tenantId);
      const tables = await erasePersonRows(platformTx(tx), this.#modules.tenantTableDeclarations(), { person, pseudonym, tenantId: actor.tenantId });
      Object.assign(tables, await erasePersonTables(platformTx(tx), this.#modules.personTables, { person, pseudonym, tenantId: actor.tenantId }));
      await recordErasure(tx, actor.tenantId, actorLabel(actor), pseudonym, tables);
      const files = await withdrawExports(tx, this.#storage, [actor.tenantId]);
      return issueCertificate(tx, this.#key, {
        kind: 'member',
        subject: pseudonym,
        scopeTenant: actor.tenantId,
        requestedBy: actorLabel(actor),
        erasedAt: now.toISOString(),
        body: { tables, files },
      });
    });
    return { certificate };
  }
}

/** The person's identifiers, with their user row locked: two erasures of one person queue. */
async function lockPerson(tx: Tx<Tables & PrivacyTables>, userId: string): Promise<ErasedPerson> {
  const user = await tx.selectFrom('users').select(['id', 'email', 'name']).where('id', '=', userId).forUpdate().executeTakeFirst();
  if (!user) throw new AppError('not-found', 'no such user');
  return { userId: user.id, email: user.email, name: user.name };
}

/** Every tenant the person has rows of membership in, live or departed. */
async function tenantsOf(tx: Tx<Tables & PrivacyTables>, userId: string): Promise<string[]> {
  const rows = await tx.selectFrom('memberships').select('tenant_id').where('user_id', '=', userId).execute();
  return rows.map((row) => row.tenant_id);
}

/** A live tenant whose only live owner is this person would be left with nobody to run it. */
async function refuseLastOwner(tx: Tx<Tables & PrivacyTables>, userId: string): Promise<void> {
  const owned = await tx
    .selectFrom('memberships as mine')
    .innerJoin('tenants as t', 't.id', 'mine.tenant_id')
    .select('mine.tenant_id')
    .where('mine.user_id', '=', userId)
    .where('mine.role', '=', 'owner')
    .where('mine.deleted_at', 'is', null)
    .where('t.deleted_at', 'is', null)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('memberships as other')
            .select('other.user_id')
            .whereRef('other.tenant_id', '=', 'mine.tenant_id')
            .where('other.user_id', '<>', userId)
            .where('other.role', '=', 'owner')
            .where('other.deleted_at', 'is', null),
        ),
      ),
    )
    .execute();
  if (owned.length > 0) {
    throw new AppError('erasure-blocked', 'you are the only owner of a tenant: make someone else owner, or erase the tenant first', {
      tenant_ids: owned.map((row) => row.tenant_id),
    });
  }
}

async function recordErasure(tx: Tx<Tables & PrivacyTables>, tenantId: string, actor: string, pseudonym: string, tables: Record<string, TableErasure>): Promise<void> {
  await tx
    .insertInto('audit_log')
    .values({
      tenant_id: tenantId,
      id: newId(),
      actor,
      action: 'person.erased',
      target: `erased:${pseudonym}`,
      before: null,
      after: JSON.stringify({ tables }),
      request_id: null,
    })
    .execute();
}
