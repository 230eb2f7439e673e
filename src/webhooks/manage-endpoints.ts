// The rules for a tenant's webhook endpoints: an address the server will call (checked before
// the unit of work opens: DNS is not waited for while holding a connection), at most
// MAX_ENDPOINTS live ones, a signing secret shown once and kept sealed, rotation with an
// overlap in which the old secret still signs. Every change is audited in its transaction.

import type { Clock } from '../clock.js';
import type { WebhookConfig } from '../config.js';
import { platformTx } from '../db/database.js';
import { newId } from '../db/ids.js';
import type { Page, PagePosition } from '../db/keyset-page.js';
import { AppError } from '../http/problems.js';
import { recordAudit } from '../audit/record-audit.js';
import type { Actor } from '../tenancy/actor.js';
import { checkEndpointUrl, type AddressResolver } from './endpoint-address.js';
import {
  countEndpoints,
  deleteEndpoint,
  findEndpoint,
  insertEndpoint,
  listEndpoints,
  replaceSecret,
  secretsOf,
  updateEndpoint,
  type EndpointChanges,
  type EndpointRow,
} from './endpoint-repository.js';
import type { SecretBox } from './secret-box.js';
import { newSigningSecret } from './webhook-signature.js';
import type { WebhookDatabase } from './webhook-tables.js';

/** Live endpoints per tenant: enough for a few receivers, few enough that one event stays cheap. */
export const MAX_ENDPOINTS = 10;

export interface NewEndpointInput {
  readonly url: string;
  readonly description?: string | undefined;
  readonly eventTypes?: readonly string[] | null | undefined;
}

export interface EndpointWithSecret {
  readonly endpoint: EndpointRow;
  /** The whsec_ secret, in the clear this once. */
  readonly secret: string;
}

function notFound(): AppError {
  return new AppError('not-found', 'no webhook endpoint with this id');
}

/** What the audit log keeps of an endpoint: never a secret. */
function audited(row: EndpointRow) {
  return { url: row.url, description: row.description, eventTypes: row.event_types, enabled: row.enabled };
}

export class WebhookEndpoints {
  constructor(
    private readonly db: WebhookDatabase,
    private readonly clock: Clock,
    private readonly config: WebhookConfig,
    private readonly secrets: SecretBox,
    private readonly resolve?: AddressResolver,
  ) {}

  list(_actor: Actor, limit: number, after: PagePosition | undefined): Promise<Page<EndpointRow>> {
    return this.db.tenant((tx) => listEndpoints(tx, limit, after));
  }

  async get(_actor: Actor, id: string): Promise<EndpointRow> {
    return (await this.db.tenant((tx) => findEndpoint(tx, id))) ?? Promise.reject(notFound());
  }

  async create(actor: Actor, input: NewEndpointInput): Promise<EndpointWithSecret> {
    const url = await checkEndpointUrl(input.url, this.config, 'body.url', this.resolve);
    const id = newId();
    const secret = newSigningSecret();
    const sealedSecret = await this.secrets.seal(secret, { tenantId: actor.tenantId, endpointId: id });
    const endpoint = await this.db.tenant(async (tx) => {
      if ((await countEndpoints(tx)) >= MAX_ENDPOINTS) {
        throw new AppError('conflict', `a tenant has at most ${MAX_ENDPOINTS} webhook endpoints; delete one first`, { limit: MAX_ENDPOINTS });
      }
      const row = await insertEndpoint(tx, {
        id,
        url,
        description: input.description ?? '',
        eventTypes: input.eventTypes ?? null,
        sealedSecret,
        now: this.clock.now(),
      });
      await recordAudit(platformTx(tx), actor, { action: 'webhook_endpoint.created', target: `webhook_endpoint:${id}`, before: null, after: audited(row) });
      return row;
    });
    return { endpoint, secret };
  }

  async update(actor: Actor, id: string, changes: EndpointChanges): Promise<EndpointRow> {
    const url = changes.url === undefined ? undefined : await checkEndpointUrl(changes.url, this.config, 'body.url', this.resolve);
    return this.db.tenant(async (tx) => {
      const before = await findEndpoint(tx, id);
      if (!before) throw notFound();
      const row = await updateEndpoint(tx, id, { ...changes, url }, this.clock.now());
      if (!row) throw notFound();
      await recordAudit(platformTx(tx), actor, { action: 'webhook_endpoint.updated', target: `webhook_endpoint:${id}`, before: audited(before), after: audited(row) });
      return row;
    });
  }

  async remove(actor: Actor, id: string): Promise<void> {
    await this.db.tenant(async (tx) => {
      const before = await findEndpoint(tx, id);
      if (!before || !(await deleteEndpoint(tx, id, this.clock.now()))) throw notFound();
      await recordAudit(platformTx(tx), actor, { action: 'webhook_endpoint.deleted', target: `webhook_endpoint:${id}`, before: audited(before), after: null });
    });
  }

  /**
   * A new secret signs from now on; the replaced one keeps signing beside it for the configured
   * overlap (TENANTRY_WEBHOOK_SECRET_OVERLAP_SECONDS), so receivers can switch without a gap.
   * A secret replaced before its overlap ended is dropped: only the last two ever sign.
   */
  async rotateSecret(actor: Actor, id: string): Promise<EndpointWithSecret> {
    const secret = newSigningSecret();
    const sealed = await this.secrets.seal(secret, { tenantId: actor.tenantId, endpointId: id });
    const endpoint = await this.db.tenant(async (tx) => {
      const current = await secretsOf(tx, id, true);
      if (!current) throw notFound();
      const now = this.clock.now();
      const overlapMs = this.config.secretOverlapSeconds * 1000;
      const row = await replaceSecret(
        tx,
        id,
        overlapMs > 0
          ? { current: sealed, previous: current.current, previousExpiresAt: new Date(now.getTime() + overlapMs) }
          : { current: sealed, previous: null, previousExpiresAt: null },
        now,
      );
      if (!row) throw notFound();
      await recordAudit(platformTx(tx), actor, {
        action: 'webhook_endpoint.secret_rotated',
        target: `webhook_endpoint:${id}`,
        before: null,
        after: { previousSecretExpiresAt: row.overlap_ends_at?.toISOString() ?? null },
      });
      return row;
    });
    return { endpoint, secret };
  }
}
