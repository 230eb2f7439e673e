// The rules for an agent's own API keys: an admin creates them (the secret shown once), lists
// and revokes them. An agent key has the member role, no scopes of its own and acts only as
// its agent; like every key it answers to the person who made it (their membership bounds it).
// Agent keys do not count against the plan's `agents`: the agents themselves do. Deleting the
// agent revokes its keys (memory migration 0004's trigger), in the deleting transaction.

import { generateApiKey } from '../auth/api-key-format.js';
import { insertApiKey, revokeApiKey } from '../auth/api-keys/api-key-repository.js';
import { keyGrant } from '../auth/api-keys/key-minting.js';
import type { Principal } from '../auth/authenticate.js';
import { sha256 } from '../auth/opaque-tokens.js';
import { recordAudit } from '../audit/record-audit.js';
import type { Clock } from '../clock.js';
import { platformTx } from '../db/database.js';
import { newId } from '../db/ids.js';
import type { Page, PageRequest } from '../db/keyset-page.js';
import type { ApiKey } from '../db/tables.js';
import { AppError } from '../http/problems.js';
import type { Actor } from '../tenancy/actor.js';
import { findLiveAgentKey, listAgentKeys } from './agent-key-repository.js';
import { findAgent, lockLiveAgent } from './agent-repository.js';
import type { MemoryDatabase } from './memory-tables.js';

export interface NewAgentKeyInput {
  readonly name: string;
  readonly expiresAt: Date | null;
}

function agentNotFound(): AppError {
  return new AppError('not-found', 'no agent with this id');
}

export class AgentKeyManagement {
  constructor(
    private readonly db: MemoryDatabase,
    private readonly clock: Clock,
  ) {}

  /** Creates a key that acts as the agent; answers the row and the token, shown this once. */
  async create(actor: Actor, minter: Principal, agentId: string, input: NewAgentKeyInput): Promise<{ key: ApiKey; token: string }> {
    const now = this.clock.now();
    if (input.expiresAt && input.expiresAt <= now) throw new AppError('validation-failed', 'expiresAt must be in the future');
    const grant = keyGrant(minter, actor.role, { role: 'member', scopes: [], expiresAt: input.expiresAt });
    const generated = generateApiKey();
    const key = await this.db.tenant(async (tx) => {
      // Share-locked: the agent cannot be deleted (revoking its keys) before this key is written.
      if (!(await lockLiveAgent(tx, agentId))) throw agentNotFound();
      const inserted = await insertApiKey(platformTx(tx), {
        tenantId: actor.tenantId,
        id: newId(),
        prefix: generated.prefix,
        secretHash: sha256(generated.secret),
        name: input.name,
        kind: 'agent',
        role: grant.role,
        scopes: grant.scopes,
        createdBy: grant.createdBy,
        createdByKeyId: grant.createdByKeyId,
        expiresAt: grant.expiresAt,
        agentId,
      });
      const after = { name: inserted.name, kind: inserted.kind, role: inserted.role, agentId, prefix: inserted.prefix };
      await recordAudit(platformTx(tx), actor, { action: 'api_key.created', target: `api_key:${inserted.id}`, before: null, after });
      return inserted;
    });
    return { key, token: generated.token };
  }

  list(actor: Actor, agentId: string, page: PageRequest): Promise<Page<ApiKey>> {
    return this.db.tenant(async (tx) => {
      if (!(await findAgent(tx, agentId))) throw agentNotFound();
      return listAgentKeys(tx, agentId, page);
    });
  }

  /** Revokes one of the agent's keys; it stops working on its next request. */
  async revoke(actor: Actor, agentId: string, keyId: string): Promise<void> {
    const now = this.clock.now();
    await this.db.tenant(async (tx) => {
      if (!(await findLiveAgentKey(tx, agentId, keyId))) throw new AppError('not-found', 'no live API key of this agent with this id');
      const revoked = await revokeApiKey(platformTx(tx), keyId, now);
      if (revoked) {
        await recordAudit(platformTx(tx), actor, { action: 'api_key.revoked', target: `api_key:${keyId}`, before: { name: revoked.key.name, prefix: revoked.key.prefix, agentId }, after: null });
      }
    });
  }
}
