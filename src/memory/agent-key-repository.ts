// An agent's API keys (rows of the core's api_keys with agent_id), read inside a unit of work
// Tenantry scoped to one tenant: none names the tenant.

import { platformTx } from '../db/database.js';
import { keysetPage, type Page, type PageRequest } from '../db/keyset-page.js';
import type { ApiKey } from '../db/tables.js';
import type { MemoryTx } from './memory-tables.js';

/** The agent's keys, revoked ones included (their history), newest first. */
export function listAgentKeys(tx: MemoryTx, agentId: string, page: PageRequest): Promise<Page<ApiKey>> {
  const query = platformTx(tx).selectFrom('api_keys').selectAll().where('agent_id', '=', agentId).where('deleted_at', 'is', null);
  return keysetPage(query, { at: 'created_at', id: 'id' }, page);
}

/** The agent's key of this id, if it is still live. */
export function findLiveAgentKey(tx: MemoryTx, agentId: string, keyId: string): Promise<{ id: string } | undefined> {
  return platformTx(tx)
    .selectFrom('api_keys')
    .select('id')
    .where('id', '=', keyId)
    .where('agent_id', '=', agentId)
    .where('revoked_at', 'is', null)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}
