// The agents table's queries, run inside a unit of work Tenantry scoped to one tenant: none
// names the tenant, and none could reach another tenant's rows.

import type { Selectable } from 'kysely';
import { keysetPage, type Page, type PageRequest } from '../db/keyset-page.js';
import type { AgentsTable, MemoryTx } from './memory-tables.js';

export type AgentRow = Selectable<AgentsTable>;

export interface NewAgent {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly metadata: Record<string, unknown>;
}

export interface AgentChanges {
  readonly name?: string | undefined;
  readonly description?: string | undefined;
  readonly metadata?: Record<string, unknown> | undefined;
}

export function insertAgent(tx: MemoryTx, agent: NewAgent): Promise<AgentRow> {
  return tx
    .insertInto('agents')
    .values({ id: agent.id, name: agent.name, description: agent.description, metadata: JSON.stringify(agent.metadata) })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function findAgent(tx: MemoryTx, id: string): Promise<AgentRow | undefined> {
  return tx.selectFrom('agents').selectAll().where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
}

/** The live agent, share-locked until commit so it cannot be deleted under a memory being stored. */
export function lockLiveAgent(tx: MemoryTx, id: string): Promise<{ id: string } | undefined> {
  return tx.selectFrom('agents').select('id').where('id', '=', id).where('deleted_at', 'is', null).forShare().executeTakeFirst();
}

export function listAgents(tx: MemoryTx, page: PageRequest): Promise<Page<AgentRow>> {
  return keysetPage(tx.selectFrom('agents').selectAll().where('deleted_at', 'is', null), { at: 'created_at', id: 'id' }, page);
}

export function updateAgent(tx: MemoryTx, id: string, changes: AgentChanges, now: Date): Promise<AgentRow | undefined> {
  return tx
    .updateTable('agents')
    .set({
      ...(changes.name === undefined ? {} : { name: changes.name }),
      ...(changes.description === undefined ? {} : { description: changes.description }),
      ...(changes.metadata === undefined ? {} : { metadata: JSON.stringify(changes.metadata) }),
      updated_at: now,
    })
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

export async function softDeleteAgent(tx: MemoryTx, id: string, now: Date): Promise<boolean> {
  const result = await tx.updateTable('agents').set({ deleted_at: now, updated_at: now }).where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
