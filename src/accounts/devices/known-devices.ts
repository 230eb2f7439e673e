// Remembers the devices a person signs in from (see device-fingerprint.ts).

import { sql } from 'kysely';
import type { Tx } from '../../db/database.js';
import type { Tables } from '../../db/tables.js';
import type { AccountTables } from '../account-tables.js';

/** In a unit naming `userId`: records the sign-in, and says whether the device was new. */
export async function rememberDevice(tx: Tx<Tables & AccountTables>, userId: string, fingerprint: Buffer, now: Date): Promise<boolean> {
  const row = await tx
    .insertInto('known_devices')
    .values({ user_id: userId, fingerprint, first_seen_at: now, last_seen_at: now })
    .onConflict((conflict) => conflict.columns(['user_id', 'fingerprint']).doUpdateSet({ last_seen_at: now }))
    // xmax is 0 on a row this statement inserted, the updating transaction's id otherwise.
    .returning(sql<boolean>`xmax = 0`.as('inserted'))
    .executeTakeFirstOrThrow();
  return row.inserted;
}
