// The rules for a tenant's API keys: admins list, create and revoke them; a new key never
// reaches beyond the credential that mints it (key-minting.ts), and agent keys count against
// the plan's `agents` limit in the transaction that writes or revokes them.

import type { Clock } from '../../clock.js';
import type { Database } from '../../db/database.js';
import { newId } from '../../db/ids.js';
import type { ApiKey } from '../../db/tables.js';
import type { Page, PagePosition } from '../../db/keyset-page.js';
import { AppError } from '../../http/problems.js';
import type { ActionUsage } from '../../metering/action-usage.js';
import { recordAudit } from '../../audit/record-audit.js';
import type { Actor } from '../../tenancy/actor.js';
import { generateApiKey } from '../api-key-format.js';
import type { Principal } from '../authenticate.js';
import { sha256 } from '../opaque-tokens.js';
import { countLiveAgentKeys, insertApiKey, listApiKeys, revokeApiKey } from './api-key-repository.js';
import { keyGrant, type KeyRequest } from './key-minting.js';

export interface NewApiKey extends KeyRequest {
  readonly name: string;
  readonly kind: 'user' | 'agent';
}

export class ApiKeyManagement {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly usage: ActionUsage,
  ) {}

  list(actor: Actor, limit: number, after: PagePosition | undefined): Promise<Page<ApiKey>> {
    return this.db.tenant((tx) => listApiKeys(tx, limit, after));
  }

  /**
   * Creates a key; `minter` is the credential of the request (a key minted with a key is
   * bounded by that key). Answers the row and the token, which is shown this once.
   */
  async create(actor: Actor, minter: Principal, wanted: NewApiKey): Promise<{ key: ApiKey; token: string }> {
    const now = this.clock.now();
    if (wanted.expiresAt && wanted.expiresAt <= now) throw new AppError('validation-failed', 'expiresAt must be in the future');
    const grant = keyGrant(minter, actor.role, wanted);
    const generated = generateApiKey();
    const key = await this.db.tenant(async (tx) => {
      // The agents counter is locked and the live agent keys counted before this one is written.
      if (wanted.kind === 'agent') await this.usage.agentAdded(tx, actor, (tx) => countLiveAgentKeys(tx, now));
      const inserted = await insertApiKey(tx, {
        tenantId: actor.tenantId,
        id: newId(),
        prefix: generated.prefix,
        secretHash: sha256(generated.secret),
        name: wanted.name,
        kind: wanted.kind,
        role: grant.role,
        scopes: grant.scopes,
        createdBy: grant.createdBy,
        createdByKeyId: grant.createdByKeyId,
        expiresAt: grant.expiresAt,
      });
      // The key's public facts only: never its secret or hash.
      const after = { name: inserted.name, kind: inserted.kind, role: inserted.role, scopes: inserted.scopes, prefix: inserted.prefix };
      await recordAudit(tx, actor, { action: 'api_key.created', target: `api_key:${inserted.id}`, before: null, after });
      return inserted;
    });
    return { key, token: generated.token };
  }

  /** Revokes the key and every key minted with it; they stop working at once. */
  async revoke(actor: Actor, id: string): Promise<void> {
    const now = this.clock.now();
    const revoked = await this.db.tenant(async (tx) => {
      await this.usage.lockAgents(tx);
      const keys = await revokeApiKey(tx, id, now);
      if (keys && keys.agents > 0) await this.usage.agentsRemoved(tx, actor, (tx) => countLiveAgentKeys(tx, now));
      if (keys) await recordAudit(tx, actor, { action: 'api_key.revoked', target: `api_key:${keys.key.id}`, before: { name: keys.key.name, prefix: keys.key.prefix }, after: null });
      return keys;
    });
    if (!revoked) throw new AppError('not-found', 'no live API key with this id');
  }
}
