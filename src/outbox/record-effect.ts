// Records an effect in the outbox inside the changing unit of work: it commits with the change
// or not at all, and the relay delivers it after commit, even if this process dies first.

import { sql } from 'kysely';
import { afterCommit, type Tx } from '../db/database.js';
import { newId } from '../db/ids.js';
import { hasLocalRelay, wakeLocalRelays } from './local-relays.js';
import { OUTBOX_CHANNEL } from './outbox-message.js';

export interface Effect {
  /** Which consumer delivers it (see OutboxRelay's consumers). */
  readonly topic: string;
  /** JSON; what the consumer needs, nothing secret (rows live until delivered). */
  readonly payload: unknown;
}

/**
 * Inside db.tenant() the tenant must be the unit's own (the query filter and RLS check it);
 * inside db.service() it names the tenant the effect belongs to.
 *
 * @example
 *   await db.tenant(async (tx) => {
 *     await tx.updateTable('tenants').set({ plan }).where('id', '=', tenantId).execute();
 *     await recordEffect(tx, tenantId, { topic: 'cache.invalidate', payload: { scope: 'tenant', tenantId } });
 *   });
 */
export async function recordEffect(tx: Tx, tenantId: string, effect: Effect): Promise<void> {
  await tx
    .insertInto('outbox')
    .values({ tenant_id: tenantId, id: newId(), topic: effect.topic, payload: JSON.stringify(effect.payload ?? null) })
    .execute();
  // Delivered only if the transaction commits: the relay wakes as soon as the row is visible.
  // This process's relay is woken in memory after the commit; NOTIFY (which serialises
  // commits cluster-wide, see local-relays.ts) only when no relay runs here.
  if (hasLocalRelay()) afterCommit(tx, wakeLocalRelays);
  else await sql`SELECT pg_notify(${OUTBOX_CHANNEL}, '')`.execute(tx);
}
