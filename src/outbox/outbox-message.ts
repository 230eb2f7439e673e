// What the relay hands a consumer, and what a consumer is: one async function per topic that
// may see the same message more than once (delivery is at least once), so it must be idempotent.

import type pg from 'pg';

export interface OutboxMessage {
  readonly tenantId: string;
  /** The row's id (a UUIDv7); a consumer may use it to recognise a message it has seen. */
  readonly id: string;
  readonly topic: string;
  readonly payload: unknown;
  /** Failed deliveries so far (0 on the first). */
  readonly attempts: number;
}

/** Resolves when the effect is done; a rejection is retried with backoff. */
export type OutboxConsumer = (message: OutboxMessage) => Promise<void>;

/**
 * The relay pass a batch consumer is called in. What the consumer writes through `query`
 * commits with the pass (which deletes the rows delivered) or not at all: one transaction, one
 * WAL flush. A failed call is rolled back to before it (a savepoint), not the whole pass.
 */
export interface OutboxPass {
  /**
   * A statement on the pass's connection, in its transaction, as the service role; refused once
   * the call has ended. `prepared`: a statement of fixed text sent every pass is named, so
   * PostgreSQL parses it once per connection (db/prepared-statements.ts).
   */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: readonly unknown[], options?: { readonly prepared?: boolean }): Promise<pg.QueryResult<R>>;
  /**
   * Runs once the pass has committed, in the order registered; never if the call fails or the
   * pass rolls back. A failing effect is logged: the rows are delivered by then.
   */
  afterCommit(effect: () => Promise<void>): void;
}

/**
 * A consumer that takes many messages at once: one relay pass's messages of its topic, several
 * tenants' (each tenant's in the order written). It must be idempotent as a whole: a failure
 * retries them, and the relay then tries each tenant's again one message at a time, so one bad
 * message holds back its own tenant only.
 */
export type OutboxBatchConsumer = (messages: readonly OutboxMessage[], pass: OutboxPass) => Promise<void>;

/** The relay listens here; recording an effect notifies it in the same transaction. */
export const OUTBOX_CHANNEL = 'tenantry_outbox';
