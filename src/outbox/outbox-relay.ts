// Delivers the outbox after commit: woken in memory by this process's commits (local-relays.ts)
// and by NOTIFY from other processes', polling as a fallback, as the service role. A pass that
// found a due tenant held by another relay is retried within milliseconds, not at the next poll.
// Each pass locks the tenants it serves with transaction-level advisory locks, so two relays
// never deliver the same tenant at once, and delivers each tenant's rows in the order written.
// A topic with a batch consumer gets all of a pass's due rows of that topic in one call, across
// tenants, inside the pass's transaction (so what it writes commits with the deletion of the
// rows, in one WAL flush); the pass deletes what it delivered in one statement.

import pg from 'pg';
import type { Logger } from 'pino';
import { corkUntilFlushed, sendQuery } from '../db/bounded-pool.js';
import { isStalePlan, preparedQuery } from '../db/prepared-statements.js';
import { OUTBOX_CHANNEL, type OutboxBatchConsumer, type OutboxConsumer, type OutboxMessage, type OutboxPass } from './outbox-message.js';
import { registerLocalRelay } from './local-relays.js';
import { OutboxWakeup } from './outbox-wakeup.js';

export interface OutboxRelayOptions {
  /**
   * A pool whose login may SET ROLE to the service role (the service pool), in pg's pipeline mode
   * as createPool() makes it: a pass sends its opening statements without waiting for each.
   */
  readonly pool: pg.Pool;
  readonly serviceRole: string;
  readonly logger: Logger;
  /** topic -> consumer. A topic with none is retried like a failure (a newer instance may know it). */
  readonly consumers: ReadonlyMap<string, OutboxConsumer>;
  /** topic -> a consumer of many messages at once (it wins over `consumers` for its topic). */
  readonly batchConsumers?: ReadonlyMap<string, OutboxBatchConsumer>;
  /** How often to look without being woken (a lost NOTIFY, a row whose backoff ended). */
  readonly pollIntervalMs?: number;
  /**
   * Tenants served per pass (at most; a pass takes the tenants due, oldest first), and rows per
   * tenant. A pass costs a few round trips whatever it carries, and on a busy server each waits
   * for the event loop, so when many tenants are due a larger pass is what keeps up.
   */
  readonly tenantsPerPass?: number;
  readonly rowsPerTenant?: number;
  /** A row failing this often is parked (dead_at) and its tenant's later rows go on. */
  readonly maxAttempts?: number;
  /** Backoff after the n-th failure: min(maxBackoffMs, baseBackoffMs * 2^(n-1)). */
  readonly baseBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** A consumer that has not settled by then counts as failed (its row is retried). */
  readonly deliveryTimeoutMs?: number;
  /**
   * A pass's fixed statements (and a batch consumer's that ask) run as named prepared
   * statements; false behind a pooler in transaction mode that does not track them
   * (TENANTRY_DB_PREPARED_STATEMENTS, as for the Database).
   */
  readonly preparedStatements?: boolean;
}

/** Namespaces the relay's advisory locks (the first key of the two-key form): "outb". */
const LOCK_CLASS = 0x6f757462;

/** Where a pass's lock statement leaves the tenants it locked, for its read (transaction-local). */
const TENANTS_SETTING = 'tenantry.outbox_relay_tenants';

/** Set by the lock statement when a due tenant was skipped, held by another relay (transaction-local). */
const BUSY_SETTING = 'tenantry.outbox_relay_busy';

/**
 * The first retry after a pass that skipped a due tenant another relay held, doubled while that
 * goes on (up to the poll interval): the other relay's pass is usually over within milliseconds.
 */
const CONTENDED_RETRY_MS = 5;

/** What a batch consumer's failed call is rolled back to, leaving the rest of the pass standing. */
const SAVEPOINT = 'outbox_batch';

// A pass's fixed statements are named (db/prepared-statements.ts): parsed and analyzed once per
// connection rather than every pass, which on a busy relay is several times a second.
//
// The pass runs with sequential scans off (SET LOCAL, its transaction only; what a batch
// consumer runs in it too, the realtime sequencer's numbering statement among them). After five
// executions PostgreSQL keeps a statement's generic plan for the connection's life, planned
// with the statistics of that moment, and a new server's first passes meet a nearly empty
// outbox and event log: the plan it kept seq-scanned both on every pass, and nothing replans it
// until an ANALYZE, which autovacuum runs a minute or more apart (and only past its row
// thresholds). An index that leads with tenant_id serves every statement of a pass (the lock's
// reads the outbox through one in order), so none of them wants a sequential scan at any size.

// Each tenant's head row decides whether it is due. The due tenants are taken oldest head first,
// so that when more are due than a pass serves (a backlog) the ones waiting longest go first
// rather than the lowest ids, whose turn would otherwise come before the others' at every pass.
// The lock is tried for due heads only, in that order, until the pass has its tenants: OFFSET 0
// keeps PostgreSQL from pushing the lock call down into the sorted subquery, where it would run
// for every due tenant before the sort and lock them all. A tenant another relay holds is
// skipped, not waited for, and noted (busy): its rows may have been committed after that
// relay's pass read, and no commit may come to wake anyone for them, so the pass is retried
// soon. The tenants locked are left in a transaction-local setting for the next statement to
// read. (CASE evaluates its branches in order; the aggregate's projection, which reads the
// busy setting, runs after every row below it.)
const LOCK_SQL = `SELECT set_config('${TENANTS_SETTING}', coalesce(string_agg(l.tenant_id::text, ','), ''), true) AS tenants,
  coalesce(current_setting('${BUSY_SETTING}', true) = 'yes', false) AS busy FROM (
  SELECT d.tenant_id FROM (
    SELECT h.tenant_id FROM (
      SELECT DISTINCT ON (tenant_id) tenant_id, available_at, created_at FROM outbox
      WHERE dead_at IS NULL ORDER BY tenant_id, created_at, id
    ) h
    WHERE h.available_at <= now()
    ORDER BY h.created_at OFFSET 0
  ) d
  WHERE CASE WHEN pg_try_advisory_xact_lock($1, hashtext(d.tenant_id::text)) THEN true
    ELSE set_config('${BUSY_SETTING}', 'yes', true) IS NULL END
  LIMIT $2
) l`;

// A new statement, so a new snapshot, taken once the locks are held: rows another relay
// delivered (and committed) before we got its tenant's lock are gone here, and are not
// delivered twice.
const READ_SQL = `SELECT o.tenant_id, o.id, o.topic, o.payload, o.attempts, o.available_at <= now() AS due
FROM unnest(string_to_array(nullif(current_setting('${TENANTS_SETTING}'), ''), ',')::uuid[]) AS t (tenant_id)
CROSS JOIN LATERAL (
  SELECT * FROM outbox WHERE tenant_id = t.tenant_id AND dead_at IS NULL ORDER BY created_at, id LIMIT $1
) o
ORDER BY o.tenant_id, o.created_at, o.id`;

const DELETE_SQL = 'DELETE FROM outbox o USING unnest($1::uuid[], $2::uuid[]) AS d (tenant_id, id) WHERE o.tenant_id = d.tenant_id AND o.id = d.id';

// The delete is planned for its own arrays every pass (set just before it, so the pass's other
// statements keep their generic plans). A generic plan takes the arrays for 10 rows whatever
// they hold, and PostgreSQL switches to it once it looks cheaper than the custom plans so far,
// which a pass of a few hundred rows makes sure of. Measured (PostgreSQL 15, 200 rows, outbox
// analyzed while empty): the generic plan, a nested loop that walks the primary key once and
// reads the arrays again for each entry, took 7.1 ms; the custom plan, which hashes the arrays,
// 1.4 ms.
const DELETE_PLANNING = 'SET LOCAL plan_cache_mode TO force_custom_plan';

const FAILED_SQL = `UPDATE outbox SET attempts = $3, last_error = $4,
  available_at = now() + make_interval(secs => $5::double precision / 1000),
  dead_at = CASE WHEN $6 THEN now() END
WHERE tenant_id = $1 AND id = $2`;

type Effect = () => Promise<void>;

interface LockRow {
  tenants: string;
  busy: boolean;
}

interface Row {
  tenant_id: string;
  id: string;
  topic: string;
  payload: unknown;
  attempts: number;
  due: boolean;
}

export class OutboxRelay {
  readonly #options: Required<Omit<OutboxRelayOptions, 'consumers' | 'batchConsumers'>>;
  readonly #consumers: ReadonlyMap<string, OutboxConsumer>;
  readonly #batchConsumers: ReadonlyMap<string, OutboxBatchConsumer>;
  readonly #wakeup: OutboxWakeup;
  readonly #begin: string;
  #timer: NodeJS.Timeout | undefined;
  /** The retry after a pass that skipped a tenant another relay held, and how many retries in a row found one. */
  #retryTimer: NodeJS.Timeout | undefined;
  #contended = 0;
  #unregister: (() => void) | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #started = false;

  constructor(options: OutboxRelayOptions) {
    this.#options = {
      pollIntervalMs: 1_000,
      tenantsPerPass: 200,
      rowsPerTenant: 20,
      maxAttempts: 10,
      baseBackoffMs: 1_000,
      maxBackoffMs: 300_000,
      deliveryTimeoutMs: 10_000,
      preparedStatements: true,
      ...options,
    };
    this.#consumers = options.consumers;
    this.#batchConsumers = options.batchConsumers ?? new Map();
    this.#wakeup = new OutboxWakeup(options.pool.options, OUTBOX_CHANNEL, () => this.#kick());
    this.#begin = `BEGIN; SET LOCAL ROLE ${pg.escapeIdentifier(options.serviceRole)}; SET LOCAL enable_seqscan TO off`;
  }

  /** Listens and polls until stop(). Idempotent. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    // Commits in this process wake it in memory; NOTIFY wakes it for other processes' commits.
    this.#unregister = registerLocalRelay(() => this.#kick());
    this.#wakeup.start();
    this.#timer = setInterval(() => {
      this.#wakeup.ensureListening();
      this.#kick();
    }, this.#options.pollIntervalMs);
    this.#timer.unref();
    this.#kick();
  }

  /** NOTIFY reaches it now; until then (and whenever the connection drops) only polling does. */
  get listening(): boolean {
    return this.#wakeup.listening;
  }

  /** Stops listening and polling, and waits for the pass in progress. */
  async stop(): Promise<void> {
    this.#started = false;
    this.#unregister?.();
    this.#unregister = undefined;
    clearInterval(this.#timer);
    clearTimeout(this.#retryTimer);
    await this.#wakeup.close();
    await this.#running;
  }

  /**
   * Delivers everything due now, pass after pass, and returns how many rows it delivered.
   * Tenants another relay is serving are left to it.
   */
  async drain(): Promise<number> {
    let delivered = 0;
    for (;;) {
      const pass = await this.#pass();
      delivered += pass.delivered;
      if (pass.tenants === 0) return delivered;
    }
  }

  /** A commit, a NOTIFY or the poll: passes now, and the retries' backoff starts over. */
  #kick(): void {
    this.#contended = 0;
    this.#runPasses();
  }

  #runPasses(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = (async () => {
      // Another pass only if there may be more to deliver: a commit woke the relay during this
      // one (its row may be past the pass's read), or the pass was full (more tenants due than
      // it serves, or a tenant with more rows than it takes). Not until a pass finds nothing, as
      // drain() does: with commits arriving all the time, that empty pass followed every pass
      // that was woken for, and each pays its round trips and a transaction.
      do {
        this.#again = false;
        // A pass now tries every due tenant's lock again: a retry waiting to do that is not needed.
        clearTimeout(this.#retryTimer);
        try {
          const pass = await this.#pass();
          if (pass.full) this.#again = true;
          this.#contended = pass.busy ? this.#contended + 1 : 0;
        } catch (error) {
          // While stopping, a pass cut short by the pools closing is expected; its rows wait.
          if (this.#started) this.#options.logger.warn({ err: error }, 'outbox relay pass failed; retrying on the next poll');
        }
      } while (this.#again && this.#started);
      // Nothing woke it meanwhile, and the last pass skipped a tenant another relay held: what
      // that relay's pass did not read would otherwise wait for the next poll.
      if (this.#contended > 0 && this.#started) this.#retrySoon();
    })().finally(() => {
      this.#running = undefined;
    });
  }

  #retrySoon(): void {
    const delay = Math.min(this.#options.pollIntervalMs, CONTENDED_RETRY_MS * 2 ** Math.min(this.#contended - 1, 20));
    this.#retryTimer = setTimeout(() => this.#runPasses(), delay);
    this.#retryTimer.unref();
  }

  /** One transaction: lock due tenants, read their rows afresh, deliver, delete or reschedule. */
  async #pass(): Promise<{ tenants: number; delivered: number; full: boolean; busy: boolean }> {
    const client = await this.#options.pool.connect();
    let broken: Error | undefined;
    try {
      // Three statements in one round trip (the pool pipelines; corked, one write), each its own
      // snapshot. BEGIN first: were it to fail, the others would run as transactions of their
      // own, their locks released at once, and the pass stops before delivering anything.
      const flush = corkUntilFlushed(client);
      const begin = sendQuery(client, this.#begin);
      const lock = sendQuery(client, this.#statement(client, LOCK_SQL, [LOCK_CLASS, this.#options.tenantsPerPass])) as Promise<pg.QueryResult<LockRow>>;
      const read = sendQuery(client, this.#statement(client, READ_SQL, [this.#options.rowsPerTenant])) as Promise<pg.QueryResult<Row>>;
      flush();
      const [began, locked, got] = await Promise.allSettled([begin, lock, read]);
      for (const sent of [began, locked, got]) if (sent.status === 'rejected') throw sent.reason;
      const { tenants, busy } = (locked as PromiseFulfilledResult<pg.QueryResult<LockRow>>).value.rows[0]!;
      const rows = (got as PromiseFulfilledResult<pg.QueryResult<Row>>).value.rows;
      if (tenants === '') {
        await sendQuery(client, 'COMMIT');
        return { tenants: 0, delivered: 0, full: false, busy };
      }
      // Each tenant's due rows, oldest first; a tenant's queue is emptied at its first failure.
      const queues = new Map<string, Row[]>();
      const waiting = new Set<string>();
      const rowsPerTenant = new Map<string, number>();
      for (const row of rows) {
        rowsPerTenant.set(row.tenant_id, (rowsPerTenant.get(row.tenant_id) ?? 0) + 1);
        if (!queues.has(row.tenant_id)) queues.set(row.tenant_id, []);
        // A row still backing off holds its tenant's later rows behind it.
        if (!row.due) waiting.add(row.tenant_id);
        if (!waiting.has(row.tenant_id)) queues.get(row.tenant_id)!.push(row);
      }
      const delivered: Row[] = [];
      const effects: Effect[] = [];
      for (let round = this.#round(queues); round.size > 0; round = this.#round(queues)) {
        // Batch consumers write in the pass's transaction, one after another (a savepoint each);
        // the other topics' consumers, which do not, then run side by side.
        const topics = [...round];
        for (const [topic, runs] of topics) if (this.#batchConsumers.has(topic)) await this.#deliverRound(client, topic, runs, queues, delivered, effects);
        await Promise.all(topics.filter(([topic]) => !this.#batchConsumers.has(topic)).map(([topic, runs]) => this.#deliverRound(client, topic, runs, queues, delivered, effects)));
      }
      // The delete and COMMIT travel together: a failed delete aborts the transaction, COMMIT then
      // rolls it back, and the rows are delivered again (at least once).
      const flushEnd = corkUntilFlushed(client);
      const deleted = delivered.length === 0
        ? Promise.resolve()
        : Promise.all([sendQuery(client, DELETE_PLANNING), sendQuery(client, this.#statement(client, DELETE_SQL, [delivered.map((row) => row.tenant_id), delivered.map((row) => row.id)]))]);
      const commit = sendQuery(client, 'COMMIT');
      flushEnd();
      const [removed, committed] = await Promise.allSettled([deleted, commit]);
      if (removed.status === 'rejected') throw removed.reason;
      if (committed.status === 'rejected') throw committed.reason;
      for (const effect of effects) {
        await effect().catch((error: unknown) => this.#options.logger.warn({ err: error }, 'outbox after-commit effect failed; its rows are delivered'));
      }
      const served = tenants.split(',').length;
      const full = served >= this.#options.tenantsPerPass || [...rowsPerTenant.values()].some((count) => count >= this.#options.rowsPerTenant);
      return { tenants: served, delivered: delivered.length, full, busy };
    } catch (error) {
      await sendQuery(client, 'ROLLBACK').catch((rollbackError: Error) => {
        broken = rollbackError;
      });
      // A named statement whose table changed shape (a migration) stays broken on this connection.
      if (isStalePlan(error)) broken ??= error as Error;
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /** A statement of fixed text, named unless prepared statements are turned off. */
  #statement(client: pg.PoolClient, text: string, values: unknown[]): pg.QueryConfig {
    return this.#options.preparedStatements ? preparedQuery(client, text, values) : { text, values };
  }

  /**
   * Takes the next step of every tenant off its queue, by topic: a batch topic's step is the
   * tenant's whole run of consecutive rows of that topic, another topic's step is one row. A
   * tenant has at most one step in a round, so its rows are delivered in order.
   */
  #round(queues: Map<string, Row[]>): Map<string, Row[][]> {
    const round = new Map<string, Row[][]>();
    for (const queue of queues.values()) {
      const head = queue[0];
      if (!head) continue;
      let length = 1;
      if (this.#batchConsumers.has(head.topic)) while (length < queue.length && queue[length]!.topic === head.topic) length += 1;
      const steps = round.get(head.topic) ?? [];
      if (steps.length === 0) round.set(head.topic, steps);
      steps.push(queue.splice(0, length));
    }
    return round;
  }

  /** One topic's steps of a round, one per tenant; a tenant whose step fails stops for this pass. */
  async #deliverRound(client: pg.PoolClient, topic: string, steps: Row[][], queues: Map<string, Row[]>, delivered: Row[], effects: Effect[]): Promise<void> {
    const batch = this.#batchConsumers.get(topic);
    if (!batch) {
      await Promise.all(steps.map((step) => this.#deliverStep(client, step, (row) => this.#timed(topic, this.#deliver(messageOf(row))), queues, delivered)));
      return;
    }
    try {
      await this.#batchCall(client, topic, batch, steps.flat().map(messageOf), effects);
      for (const step of steps) delivered.push(...step);
      return;
    } catch (error) {
      if (steps.length === 1 && steps[0]!.length === 1) {
        await this.#failedStep(client, steps[0]!, error, queues);
        return;
      }
      // Something in the batch failed: each tenant's rows again, one at a time, so that a bad
      // row holds back only its own tenant (and is the one that counts the attempt). One call
      // after another, since each stands in the transaction on a savepoint of its own.
    }
    for (const step of steps) await this.#deliverStep(client, step, (row) => this.#batchCall(client, topic, batch, [messageOf(row)], effects), queues, delivered);
  }

  /** A tenant's step, row by row, until one fails. */
  async #deliverStep(client: pg.PoolClient, step: Row[], deliver: (row: Row) => Promise<void>, queues: Map<string, Row[]>, delivered: Row[]): Promise<void> {
    for (const row of step) {
      try {
        await deliver(row);
      } catch (error) {
        await this.#failedStep(client, [row], error, queues);
        return;
      }
      delivered.push(row);
    }
  }

  /**
   * A batch consumer's call in the pass's transaction, on a savepoint: a failed call's writes
   * are rolled back and its after-commit effects dropped, and the pass goes on. Once the call
   * has ended (settled or timed out) its handle refuses statements, so a call given up on
   * cannot write into the pass after the rollback.
   */
  async #batchCall(client: pg.PoolClient, topic: string, consumer: OutboxBatchConsumer, messages: OutboxMessage[], effects: Effect[]): Promise<void> {
    const own: Effect[] = [];
    let open = true;
    const pass: OutboxPass = {
      query: <R extends pg.QueryResultRow>(text: string, values: readonly unknown[] = [], options?: { readonly prepared?: boolean }) => {
        if (!open) return Promise.reject(new Error('the outbox pass has ended'));
        const query = options?.prepared ? this.#statement(client, text, [...values]) : { text, values: [...values] };
        return sendQuery(client, query) as Promise<pg.QueryResult<R>>;
      },
      afterCommit: (effect) => {
        if (open) own.push(effect);
      },
    };
    // Sent with the consumer's first statement rather than waited for on its own.
    const saved = sendQuery(client, `SAVEPOINT ${SAVEPOINT}`);
    try {
      await this.#timed(topic, consumer(messages, pass));
      await saved;
    } catch (error) {
      open = false;
      await saved.catch(() => {});
      await sendQuery(client, `ROLLBACK TO SAVEPOINT ${SAVEPOINT}`);
      throw error;
    }
    open = false;
    effects.push(...own);
  }

  /** The step's first row failed: it is rescheduled (or parked), and its tenant's later rows wait. */
  async #failedStep(client: pg.PoolClient, step: Row[], error: unknown, queues: Map<string, Row[]>): Promise<void> {
    const head = step[0]!;
    queues.set(head.tenant_id, []);
    await this.#failed(client, messageOf(head), error);
  }

  async #deliver(message: OutboxMessage): Promise<void> {
    const consumer = this.#consumers.get(message.topic);
    if (!consumer) throw new Error(`no consumer for outbox topic "${message.topic}"`);
    await consumer(message);
  }

  /** A consumer that has not settled within the delivery timeout counts as failed. */
  async #timed(topic: string, delivery: Promise<void>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`outbox consumer of "${topic}" did not finish within ${this.#options.deliveryTimeoutMs} ms`)), this.#options.deliveryTimeoutMs);
    });
    try {
      await Promise.race([delivery, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #failed(client: pg.PoolClient, message: OutboxMessage, error: unknown): Promise<void> {
    const attempts = message.attempts + 1;
    const dead = attempts >= this.#options.maxAttempts;
    const backoffMs = Math.min(this.#options.maxBackoffMs, this.#options.baseBackoffMs * 2 ** (attempts - 1));
    const reason = error instanceof Error ? error.message : String(error);
    await sendQuery(client, this.#statement(client, FAILED_SQL, [message.tenantId, message.id, attempts, reason.slice(0, 1000), backoffMs, dead]));
    const fields = { err: error, tenant_id: message.tenantId, outbox_id: message.id, topic: message.topic, attempts };
    if (dead) this.#options.logger.error(fields, 'outbox message parked after its last attempt; the tenant\'s later messages go on');
    else this.#options.logger.warn({ ...fields, retry_in_ms: backoffMs }, 'outbox delivery failed; retrying with backoff');
  }
}

function messageOf(row: Row): OutboxMessage {
  return { tenantId: row.tenant_id, id: row.id, topic: row.topic, payload: row.payload, attempts: row.attempts };
}
