// The one data path: every unit of work checks out one client, opens a transaction
// that sets the tenant and switches role in a single round trip, and commits or rolls back.

import { randomUUID } from 'node:crypto';
import {
  Kysely,
  PostgresDialect,
  PostgresQueryCompiler,
  type Compilable,
  type CompiledQuery,
  type KyselyPlugin,
  type QueryExecutor,
  type QueryId,
  type RootOperationNode,
} from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import type { DatabaseLimits, DatabaseRoles } from '../config.js';
import { currentContext, currentTenantId } from '../tenancy/context.js';
import { HOUR_MS } from '../clock.js';
import { readOnlyRefusal } from './read-only.js';
import { BACKGROUND_LIMITS, BoundedPool, QUEUE_LIMITS, corkUntilFlushed, sendQuery, plainPoolLimits } from './bounded-pool.js';
import { UUID_PATTERN } from './ids.js';
import type { Tables } from './tables.js';
import type { IdentityLookup } from '../modules/module.js';
import type { ModuleRegistry } from '../modules/registry.js';
import { assertNoOpenUnit, insideUnit } from './one-connection.js';
import { TenantScopePlugin, TenantScopeViolation } from './tenant-scope-plugin.js';
import { sendPipeline, type PipelinedStatement } from './pipeline.js';
import { isStalePlan } from './prepared-statements.js';
import { fillTemplate, isBoundTemplate, type BoundTemplate } from './statement-template.js';
import { poolTypes } from './timestamps.js';

/** A unit of work's query builder, typed over the platform's tables and, for a module, its own. */
export type Tx<DB = Tables> = Kysely<DB>;
export type Work<T, DB = Tables> = (tx: Tx<DB>) => Promise<T>;
/** A unit of work that is exactly one statement, handed over unexecuted (a query builder). */
export type Statement<Row, DB = Tables> = (tx: Tx<DB>) => Compilable<Row>;
/** Work for after a unit commits: may be lost in a crash (the outbox is for what must not be). */
export type AfterCommitEffect = () => unknown;

/**
 * A module's handle as the platform's code takes it: the same unit of work, typed over only
 * the platform's tables (Kysely's types are invariant in their tables, so this is a cast).
 *
 * @example
 *   await db.tenant(async (tx) => { await usage.taskCreated(platformTx(tx), id); await insertTask(tx, task); });
 */
export function platformTx<DB extends Tables>(tx: Tx<DB>): Tx {
  return tx as unknown as Tx;
}

/** The open unit each handle belongs to, so afterCommit(tx, …) finds it without ambient state. */
const unitsByHandle = new WeakMap<object, Unit>();

/**
 * Runs `effect` once the unit of work `tx` belongs to has committed, never if it rolls back.
 * Effects run in the order registered, before the unit's promise resolves; one that fails is
 * logged and does not fail the committed unit. Call it inside the work of db.tenant(),
 * db.identity() or db.service().
 *
 * @example
 *   await db.tenant(async (tx) => {
 *     await tx.updateTable('tenants').set({ plan: 'pro' }).execute();
 *     afterCommit(tx, () => profiles.invalidate(tenantId));
 *   });
 */
export function afterCommit<DB>(tx: Tx<DB>, effect: AfterCommitEffect): void {
  const unit = unitsByHandle.get(tx);
  if (!unit?.open) throw new TenantScopeViolation('afterCommit() needs the handle of a unit of work that is still running');
  unit.effects.push(effect);
}

/**
 * The identity a unit of work names: the named lookups RLS allows (see migrations 0001, 0004
 * and 0010). Outside a tenant they are the only reads; inside one they add only the named
 * user's own row and sessions.
 */
export interface IdentityScope {
  /** The user's own row, their sessions (with sessionFamilyId) and, outside a tenant, their memberships and tenants. */
  readonly userId?: string | undefined;
  /** With userId: that user's sessions of this family (the `sid` of a verified access token). */
  readonly sessionFamilyId?: string | undefined;
  /** Lets exactly one session be found by the SHA-256 of its refresh token. */
  readonly refreshTokenHash?: Buffer | undefined;
  /** Outside a tenant: the credentials (id, status, password hash) of the account with this email. */
  readonly email?: string | undefined;
  /** Lets exactly one API key row be found by its public prefix. */
  readonly apiKeyPrefix?: string | undefined;
  /** Lets exactly one invitation be found by the SHA-256 of its token. */
  readonly invitationTokenHash?: Buffer | undefined;
}

/**
 * Kysely methods that would end, leave or bypass the scoped transaction: a nested
 * transaction's COMMIT ends ours; a new connection has no scope; a compiled query or a
 * plugin-free copy skips the tenant filter. (A compiled query would be refused anyway:
 * see #kysely, which runs only SQL its own executor compiled.)
 */
const SEALED_METHODS = [
  'transaction',
  'startTransaction',
  'connection',
  'executeQuery',
  'withoutPlugins',
  'withPlugin',
  'withSchema',
  'withTables',
  'destroy',
] as const;

/** Executor methods that would make an executor with other plugins (or none) or another connection. */
const SEALED_EXECUTOR_METHODS = ['withPlugin', 'withPlugins', 'withPluginAtFront', 'withoutPlugins', 'withConnectionProvider'] as const;

const KEY_PREFIX = /^[a-z0-9]{12,32}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
/** An email as the hex of its UTF-8 bytes: no quote or backslash can reach SET LOCAL. */
const UTF8_HEX = /^(?:[0-9a-f]{2}){1,2048}$/;

/** Values are bound to the scoping statement, or interpolated into SET LOCAL where Citus is installed: only these exact shapes pass. */
function checked(value: string, shape: RegExp, what: string): string {
  if (!shape.test(value)) throw new TypeError(`refusing to scope a transaction to a malformed ${what}`);
  return value;
}

/** The session settings the RLS policies read. */
interface ScopeSettings extends IdentityScope {
  readonly tenantId?: string | undefined;
  /** The agent an agent's API key acts as (app.agent_id): a module's policies may narrow to it. */
  readonly agentId?: string | undefined;
}

/**
 * Every unit sets every setting a policy reads, empty when it has no value: a value left at
 * session level on a pooled connection (by anyone) is never honoured by a later unit.
 */
function scopeSettings(scope: ScopeSettings): Setting[] {
  return [
    ['app.tenant_id', scope.tenantId ? checked(scope.tenantId, UUID_PATTERN, 'tenant id') : ''],
    ['app.user_id', scope.userId ? checked(scope.userId, UUID_PATTERN, 'user id') : ''],
    ['app.session_family_id', scope.sessionFamilyId ? checked(scope.sessionFamilyId, UUID_PATTERN, 'session family id') : ''],
    [
      'app.refresh_token_hash',
      scope.refreshTokenHash ? checked(scope.refreshTokenHash.toString('hex'), SHA256_HEX, 'refresh token hash') : '',
    ],
    ['app.user_email', scope.email ? checked(Buffer.from(scope.email, 'utf8').toString('hex'), UTF8_HEX, 'email') : ''],
    ['app.agent_id', scope.agentId ? checked(scope.agentId, UUID_PATTERN, 'agent id') : ''],
    ['app.api_key_prefix', scope.apiKeyPrefix ? checked(scope.apiKeyPrefix, KEY_PREFIX, 'API key prefix') : ''],
    [
      'app.invitation_token_hash',
      scope.invitationTokenHash ? checked(scope.invitationTokenHash.toString('hex'), SHA256_HEX, 'invitation token hash') : '',
    ],
  ];
}

/** A setting a policy reads, and its value for this unit ('' for none). */
type Setting = readonly [name: string, value: string];

/**
 * The one statement that scopes a unit: the role, then every setting, each for the transaction
 * only (set_config(…, true) is SET LOCAL), with the values bound as parameters. One prepared
 * statement where SET LOCAL takes one statement per setting, each with its value in its text;
 * its single boolean column is all a client has to read back.
 */
const SCOPING = `SELECT concat(${['role', ...scopeSettings({}).map(([name]) => name)]
  .map((name, i) => `set_config('${name}', $${i + 1}, true)`)
  .join(', ')}) IS NOT NULL AS scoped`;

/**
 * The same scoping for a distributed PostgreSQL: Citus passes a SET LOCAL on to its workers
 * (citus.propagate_set_commands = 'local') and not a set_config() call, so there the role and
 * each setting are a SET LOCAL of their own, values validated and interpolated (see checked()).
 * A statement whose text never changes (the role's, an empty setting's) is `prepared` when asked.
 */
function setLocalScoping(role: string, settings: readonly Setting[], prepared: boolean): PipelinedStatement[] {
  return [
    { text: `SET LOCAL ROLE "${role}"`, prepared },
    ...settings.map(([name, value]) => ({ text: `SET LOCAL ${name} = '${value}'`, prepared: prepared && value === '' })),
  ];
}

/**
 * Who a tenant unit acts for, when it reads or writes that person's own rows: signing up and
 * accepting an invitation create the user and a session; the membership check reads the session.
 */
export type TenantIdentity = Pick<IdentityScope, 'userId' | 'sessionFamilyId'>;

/** A check's statement: trusted text with parameters, prepared on each connection it runs on. */
export interface CheckQuery {
  readonly text: string;
  readonly values: readonly unknown[];
}

/**
 * A check the request's next tenant unit runs right after its scoping, before any of its own
 * statements and in the same write (tenancy/access-check.ts: the cached access re-checked
 * where the data is). A check that fails raises in PostgreSQL, which aborts the transaction.
 */
export interface ScopeCheck {
  /** The tenant the check is for: only a unit in that tenant runs it. */
  readonly tenantId: string;
  /** One statement, run after the SET LOCALs: it reads the settings they made. */
  readonly query: CheckQuery;
  /** The settings the check reads; a unit that names another identity leaves the check for later. */
  readonly identity: TenantIdentity;
  /** True until a unit has run the check. */
  readonly pending: boolean;
  /** Set once the check failed: every later unit of the request throws it without running. */
  readonly refused: Error | undefined;
  /** Called once a unit's scoping, check included, succeeded, with the check's one row. */
  passed(row: Readonly<Record<string, unknown>> | undefined): void;
  /** What to throw for a scoping failure the check raised (and from then on); undefined for any other error. */
  refusal(error: unknown): Error | undefined;
}

/**
 * The current request's pending check, if this tenant unit can run it with `identity`. A
 * request whose check was refused runs no more tenant units.
 */
function pendingCheck(tenantId: string, identity: TenantIdentity): ScopeCheck | undefined {
  const check = currentContext()?.scopeCheck;
  if (check?.refused && check.tenantId === tenantId) throw check.refused;
  if (!check?.pending || check.tenantId !== tenantId) return undefined;
  const named = identity.userId !== undefined || identity.sessionFamilyId !== undefined;
  if (named && (identity.userId !== check.identity.userId || identity.sessionFamilyId !== check.identity.sessionFamilyId)) return undefined;
  return check;
}

export interface DatabaseOptions {
  /** Request work: logs in as a role that can switch to the app role only. */
  readonly pool: pg.Pool;
  /**
   * Service work: logs in as a role that can switch to the service role. Defaults to `pool`,
   * for a login that may do both (tests, the CLI's administrative login).
   */
  readonly servicePool?: pg.Pool;
  readonly roles: DatabaseRoles;
  readonly logger: Logger;
  /** What the query-layer filter confines and which identity reads it allows: the registered modules'. */
  readonly modules: Pick<ModuleRegistry, 'tenantTables' | 'identityLookups'>;
  /**
   * Layer 1, the query-layer tenant filter. On in production; the isolation suite turns it
   * off to prove that RLS alone holds.
   */
  readonly queryFilter?: boolean;
  /**
   * Whether statements that ask to be prepared are (default true). Off behind a connection
   * pooler in transaction mode that does not track prepared statements.
   */
  readonly preparedStatements?: boolean;
  /**
   * The database is a distributed PostgreSQL (the citus extension is installed): units scope
   * themselves with SET LOCAL statements, which Citus passes on to its workers. Found by
   * openDatabase().
   */
  readonly distributed?: boolean;
}

/** How db.tenantStatement() runs its statement, and for whom. */
export interface StatementOptions extends TenantIdentity {
  /**
   * Send it as a named prepared statement (db/prepared-statements.ts): for a hot statement
   * whose best plan does not depend on its values. Off unless asked, and ignored when the
   * database is built with preparedStatements false.
   */
  readonly prepared?: boolean;
}

export interface ServiceOptions {
  /** The platform's own machinery repeating the same work: recorded once an hour, not on every use. */
  readonly recurring?: boolean;
}

export class Database<DB = Tables> {
  readonly #pool: pg.Pool;
  readonly #servicePool: pg.Pool;
  readonly #roles: DatabaseRoles;
  readonly #logger: Logger;
  readonly #queryFilter: boolean;
  readonly #tenantTables: ReadonlySet<string>;
  readonly #identityLookups: readonly IdentityLookup[];
  readonly #preparedStatements: boolean;
  readonly #distributed: boolean;
  /** Recurring service work: the hour (since the epoch) each reason was last recorded in. */
  readonly #recurringRecorded = new Map<string, number>();
  /** Each statement template's compiled text by shape (see statement-template.ts). */
  readonly #templates = new WeakMap<object, Map<string, Outgoing>>();

  constructor(options: DatabaseOptions) {
    this.#pool = options.pool;
    this.#servicePool = options.servicePool ?? options.pool;
    this.#roles = options.roles;
    this.#logger = options.logger;
    this.#queryFilter = options.queryFilter ?? true;
    this.#tenantTables = options.modules.tenantTables;
    this.#identityLookups = options.modules.identityLookups;
    this.#preparedStatements = options.preparedStatements ?? true;
    this.#distributed = options.distributed ?? false;
  }

  /**
   * This database, its units typed over `T`'s tables too: how a module queries the tables its
   * migrations created. Types only; isolation comes from the registered declarations.
   *
   * @example
   *   const db = services.db.withTables<ContractTables>();
   *   await db.tenant((tx) => tx.selectFrom('contracts').selectAll().execute());
   */
  withTables<T>(): Database<DB & T> {
    return this as unknown as Database<DB & T>;
  }

  /**
   * Runs tenant work for the tenant of the current request context, as the app role.
   *
   * @example
   *   const tasks = await db.tenant((tx) => tx.selectFrom('tasks').selectAll().execute());
   */
  tenant<T>(work: Work<T, DB>, identity: TenantIdentity = {}): Promise<T> {
    const tenantId = checked(currentTenantId(), UUID_PATTERN, 'tenant id');
    const plugin = new TenantScopePlugin({ tenantId, tenantTables: this.#tenantTables });
    const check = pendingCheck(tenantId, identity);
    const settings = scopeSettings({ ...check?.identity, ...identity, tenantId, agentId: currentContext()?.agentId });
    return this.#run(this.#pool, this.#roles.app, settings, this.#plugins(plugin), work, check, tenantHold(check));
  }

  /**
   * One statement for the current tenant, in ONE round trip: the transaction, its scoping,
   * the statement and COMMIT travel together on the pipelining pool. For hot single statements
   * (a read, or one write that needs nothing read first). A statement template's call
   * (statement-template.ts) is built and compiled once per shape instead of on every call.
   *
   * @example
   *   const rows = await db.tenantStatement((tx) => tx.selectFrom('tasks').selectAll().limit(50));
   */
  tenantStatement<Row>(statement: Statement<Row, DB> | BoundTemplate<Row, DB>, options: StatementOptions = {}): Promise<Row[]> {
    const { prepared = false, ...identity } = options;
    const tenantId = checked(currentTenantId(), UUID_PATTERN, 'tenant id');
    const check = pendingCheck(tenantId, identity);
    const settings = scopeSettings({ ...check?.identity, ...identity, tenantId, agentId: currentContext()?.agentId });
    const send = { prepared: prepared && this.#preparedStatements, check, hold: tenantHold(check) };
    const compile: Compile = isBoundTemplate<Row, DB>(statement)
      ? (client) => this.#fromTemplate(client, statement, tenantId)
      : (client) => this.#compile(client, this.#plugins(new TenantScopePlugin({ tenantId, tenantTables: this.#tenantTables })), statement);
    return this.#runStatement(this.#roles.app, settings, compile, send);
  }

  /**
   * Runs a request's pending access check in a transaction of its own, in one round trip: for
   * a request that answers without having opened a tenant unit (which would have run it).
   */
  async runCheck(check: ScopeCheck): Promise<void> {
    const tenantId = checked(check.tenantId, UUID_PATTERN, 'tenant id');
    const settings = scopeSettings({ ...check.identity, tenantId });
    await this.#runStatement(this.#roles.app, settings, (client) => this.#compile(client, [], (tx) => tx.selectNoFrom((eb) => eb.lit(1).as('checked'))), { check });
  }

  /** Runs work that precedes or spans tenant choice for one identity (login, /me), as the app role. */
  identity<T>(scope: IdentityScope, work: Work<T, DB>): Promise<T> {
    const settings = scopeSettings({ ...scope, tenantId: undefined });
    const identityReads = new Map<string, { column: string; value: unknown }>();
    for (const lookup of this.#identityLookups) {
      const value = scope[lookup.by];
      if (value) identityReads.set(lookup.table, { column: lookup.column, value });
    }
    const plugin = new TenantScopePlugin({ tenantId: undefined, tenantTables: this.#tenantTables, identityReads });
    return this.#run(this.#pool, this.#roles.app, settings, this.#plugins(plugin), work);
  }

  /**
   * Cross-tenant work as the BYPASSRLS service role. The reason is recorded (and
   * committed) before the work starts, so even a failed attempt leaves a trace.
   *
   * `recurring`: the platform's own machinery repeating the same work (a flush every
   * second) is recorded on its first use in each hour, by each instance, instead of on every
   * use; later uses in that hour log at debug. Only outside any request: what a person or a
   * request causes is recorded every time. Every use inside a scheduled job's run (the
   * crontab's rollup every minute) is recurring too.
   */
  async service<T>(reason: string, work: Work<T, DB>, options: ServiceOptions = {}): Promise<T> {
    assertNoOpenUnit();
    const context = currentContext();
    const actor = context?.userId ? `user:${context.userId}` : 'system';
    const hour = Math.floor(Date.now() / HOUR_MS);
    if (options.recurring && context && !context.scheduled) {
      throw new Error(`recurring service work ("${reason}") must run outside any request`);
    }
    const recurring = options.recurring === true || context?.scheduled === true;
    if (!recurring) await this.#recordServiceUse(reason, actor, context);
    else if (this.#recurringRecorded.get(reason) === hour) this.#logger.debug({ reason, actor }, 'service role used (recurring)');
    else {
      await this.#recordServiceUse(`${reason} (recurring: recorded once an hour)`, actor, context);
      this.#recurringRecorded.set(reason, hour);
    }
    // Cross-tenant by definition: no tenant filter, the recorded reason is the control.
    return this.#run(this.#servicePool, this.#roles.service, scopeSettings({}), [], work);
  }

  async #recordServiceUse(reason: string, actor: string, context: ReturnType<typeof currentContext>): Promise<void> {
    this.#logger.info({ reason, actor, request_id: context?.requestId }, 'service role used');
    const audit =
      `INSERT INTO service_role_audit (id, reason, actor, request_id, target_tenant_id) VALUES (` +
      [randomUUID(), reason, actor, context?.requestId ?? null, context?.tenantId ?? null]
        .map((value) => (value === null ? 'NULL' : pg.escapeLiteral(value)))
        .join(', ') +
      ')';
    // Committed on its own and awaited: no audit row, no work.
    await this.#servicePool.query(`BEGIN; SET LOCAL ROLE "${this.#roles.service}"; ${audit}; COMMIT`);
  }

  close(): Promise<void> {
    return this.#pool.end();
  }

  /** Outside the unit (its connection is back in the pool), so an effect may open units of its own. */
  async #runEffects(effects: readonly AfterCommitEffect[]): Promise<void> {
    for (const effect of effects) {
      try {
        await effect();
      } catch (error) {
        // The change is committed and the caller is told so; the effect's owner reads the log.
        this.#logger.error({ err: error }, 'after-commit effect failed');
      }
    }
  }

  #plugins(filter: TenantScopePlugin): KyselyPlugin[] {
    return this.#queryFilter ? [filter] : [];
  }

  async #run<T>(
    pool: pg.Pool,
    role: string,
    settings: Setting[],
    plugins: KyselyPlugin[],
    work: Work<T, DB>,
    check?: ScopeCheck,
    hold: Hold = NO_HOLD,
  ): Promise<T> {
    assertNoOpenUnit();
    const client = await pool.connect();
    // A connection that dies while checked out emits 'error' on the client; unheard, that
    // would crash the process. The pending query rejects anyway, and release() destroys it.
    const onConnectionError = (error: Error) => this.#logger.warn({ err: error }, 'database connection lost mid-transaction');
    client.on('error', onConnectionError);
    let released = false;
    const release = (error?: Error) => {
      if (released) return;
      released = true;
      client.off('error', onConnectionError);
      client.release(error);
    };
    // The opening is one pipeline (pipeline.ts): if any of it fails, PostgreSQL skips the rest,
    // and the work's queries, which follow on the same connection, find the transaction
    // aborted. It is not awaited: on a pipelining pool the work's first query follows it on the
    // same round trip. The socket stays corked until that query is written too, so all of it
    // leaves in one write (see #kysely); a unit that sends nothing uncorks before it commits.
    const flush = corkUntilFlushed(client);
    const opening = this.#opening(role, settings, check, hold);
    const opened = sendPipeline(client, opening.statements);
    const setup = opened.then((outcome) => {
      if (!outcome.ok) throw outcome.error;
      check?.passed(outcome.results[opening.checkAt]?.rows[0]);
    });
    setup.catch(() => {}); // observed below, whichever way the work ends
    const unit: Unit = { open: true, sanctioned: new Set(), effects: [], flush };
    try {
      const result = await insideUnit(() => work(this.#kysely(client, plugins, unit)));
      flush();
      await setup;
      unit.open = false;
      // Anything that ended our transaction early would have let later statements run
      // unscoped: refuse to report success, and never reuse that connection.
      if (client.getTransactionStatus() !== 'T') {
        const error = new TenantScopeViolation('the unit of work left its scoped transaction');
        release(error);
        throw error;
      }
      await sendQuery(client, 'COMMIT');
      release();
      if (unit.effects.length > 0) await this.#runEffects(unit.effects);
      return result;
    } catch (error) {
      flush();
      unit.open = false;
      if (error instanceof TenantScopeViolation && released) throw error;
      // A failed setup explains the work's failure ("transaction is aborted"): report the
      // cause, or the refusal a failed access check stands for.
      const cause = (await setup.then(() => undefined, (setupError: unknown) => check?.refusal(setupError) ?? setupError)) ?? error;
      const outcome = await opened;
      if (!outcome.ok && !outcome.reusable) release(outcome.error);
      try {
        if (!released) await sendQuery(client, 'ROLLBACK');
        release();
      } catch (rollbackError) {
        // A client that cannot roll back may still hold transaction state: destroy it.
        release(rollbackError as Error);
      }
      throw readOnlyRefusal(cause) ?? cause;
    }
  }

  async #runStatement<Row>(role: string, settings: Setting[], compile: Compile, send: Send): Promise<Row[]> {
    try {
      return await this.#sendStatement(role, settings, compile, send);
    } catch (error) {
      // A migration changed what a prepared statement returns. Nothing ran (the transaction
      // rolled back) and that connection was discarded; other connections may hold the same
      // stale statement, so it goes once more unnamed.
      if (!send.prepared || !isStalePlan(error)) throw error;
      this.#logger.info({ err: error }, 'prepared statement outdated by a schema change; sent again unprepared');
      return this.#sendStatement(role, settings, compile, { ...send, prepared: false });
    }
  }

  async #sendStatement<Row>(
    role: string,
    settings: Setting[],
    compile: Compile,
    { prepared = false, check, hold = NO_HOLD }: Send,
  ): Promise<Row[]> {
    assertNoOpenUnit();
    const client = await this.#pool.connect();
    const onConnectionError = (error: Error) => this.#logger.warn({ err: error }, 'database connection lost mid-transaction');
    client.on('error', onConnectionError);
    let broken: Error | undefined;
    try {
      const compiled = compile(client);
      // The whole unit is one pipeline, one write and one Sync: a failed setup or check skips
      // the statement and COMMIT, so the statement cannot run unscoped.
      const opening = this.#opening(role, settings, check, hold);
      const answerAt = opening.statements.length;
      const outcome = await sendPipeline(client, [
        ...opening.statements,
        { text: compiled.sql, values: compiled.parameters, prepared },
        { text: 'COMMIT', prepared: this.#preparedStatements },
      ]);
      if (!outcome.ok) {
        const { error, failedAt } = outcome;
        // A prepared statement whose table changed shape stays broken on this connection, and
        // a connection whose COMMIT failed is in a state nobody knows: both are destroyed.
        // Otherwise it is rolled back (the failure is answered before the transaction's state).
        if (!outcome.reusable || failedAt > answerAt || isStalePlan(error)) broken = error;
        else await sendQuery(client, 'ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
        throw (failedAt < answerAt ? check?.refusal(error) : undefined) ?? readOnlyRefusal(error) ?? error;
      }
      if (check) check.passed(outcome.results[opening.checkAt]!.rows[0]);
      return outcome.results[answerAt]!.rows as Row[];
    } finally {
      client.off('error', onConnectionError);
      client.release(broken);
    }
  }

  /**
   * A one-statement unit's statement, compiled through a Kysely bound to this client, so the
   * tenant filter applies as usual; the handle is closed at once: only the compiled statement
   * is sent, and only when that Kysely's executor compiled it (not a hand-made Compilable).
   */
  #compile<Row>(client: pg.PoolClient, plugins: KyselyPlugin[], statement: Statement<Row, DB>): Outgoing {
    const unit: Unit = { open: false, sanctioned: new Set(), effects: [], flush: () => {} };
    const compiled = statement(this.#kysely(client, plugins, unit)).compile();
    if (!unit.sanctioned.has(compiled.sql)) {
      throw new TenantScopeViolation('a scoped statement must be built by the query builder of its unit of work');
    }
    return { sql: compiled.sql, parameters: compiled.parameters as unknown[] };
  }

  /**
   * A template's statement for this call: its shape compiled once (as #compile does, the
   * tenant filter's tenant left open), then filled with the call's values and its tenant.
   */
  #fromTemplate<Row>(client: pg.PoolClient, call: BoundTemplate<Row, DB>, tenantId: string): Outgoing {
    let shapes = this.#templates.get(call.template);
    if (!shapes) this.#templates.set(call.template, (shapes = new Map()));
    let compiled = shapes.get(call.key);
    if (!compiled) {
      const plugins = this.#plugins(new TenantScopePlugin({ tenantId: TEMPLATE_TENANT, tenantTables: this.#tenantTables }));
      compiled = this.#compile(client, plugins, (tx) => call.template.buildOpen(tx, call.shape));
      // A shape is a few choices; a template whose shapes keep growing is misused, and its
      // texts are compiled afresh rather than kept.
      if (shapes.size < MAX_SHAPES_PER_TEMPLATE) shapes.set(call.key, compiled);
    }
    return { sql: compiled.sql, parameters: fillTemplate(compiled.parameters, call.values, TEMPLATE_TENANT, tenantId) };
  }

  /**
   * A unit's opening, the first statements of its pipeline: BEGIN, the scoping (the role and
   * every setting), the status hold when it runs here, and the request's access check, whose
   * result is at `checkAt`. Texts that never change are prepared (unless prepared statements
   * are off).
   */
  #opening(role: string, settings: readonly Setting[], check: ScopeCheck | undefined, hold: Hold): Opening {
    const prepared = this.#preparedStatements;
    const scoping = this.#distributed
      ? setLocalScoping(role, settings, prepared)
      : [{ text: SCOPING, values: [role, ...settings.map(([, value]) => value)], prepared }];
    const statements: PipelinedStatement[] = [{ text: hold.begin, prepared }, ...scoping];
    if (hold.statusCheck) statements.push({ text: 'SELECT tenantry_access.hold_if_suspended()', prepared });
    if (check) statements.push({ text: check.query.text, values: check.query.values, prepared });
    return { statements, checkAt: check ? statements.length - 1 : -1 };
  }

  /**
   * The Kysely a unit of work gets: bound to its one client, carrying the tenant filter, and
   * unable to leave the scoped transaction. Nested transactions, a second connection, an
   * executor with other plugins, and use after the unit ended all throw; and the client runs
   * only SQL this Kysely's executor compiled from a node its plugins transformed, so neither a
   * precompiled query nor a hand-built node can skip the filter.
   */
  #kysely(client: pg.PoolClient, plugins: KyselyPlugin[], unit: Unit): Tx<DB> {
    const query = (text: unknown, ...rest: unknown[]) => {
      const sqlText = typeof text === 'string' ? text : (text as { text?: unknown } | null)?.text;
      if (typeof sqlText !== 'string' || !unit.sanctioned.has(sqlText)) {
        throw new TenantScopeViolation('only SQL compiled by the query builder of this unit of work may run in it');
      }
      // Kysely's queries (text and values) go through sendQuery(); a submittable (a streaming
      // cursor) runs as Kysely hands it over.
      const result =
        typeof text === 'string' ? sendQuery(client, { text, values: rest[0] as unknown[] | undefined }) : (client.query as (...args: unknown[]) => unknown)(text, ...rest);
      unit.flush();
      return result;
    };
    const single = {
      connect: async () => {
        if (!unit.open) throw new TenantScopeViolation('this unit of work has ended: its transaction handle cannot run queries');
        return { query, release: () => {} };
      },
      end: async () => {},
    };
    const tx = new Kysely<DB>({ dialect: new UnitDialect({ pool: single as unknown as pg.Pool }), plugins });
    sanctionCompiledSql(tx.getExecutor(), unit.sanctioned);
    for (const method of SEALED_METHODS) seal(tx, method);
    unitsByHandle.set(tx, unit);
    return tx;
  }
}

/**
 * Every unit's Kysely compiles with one compiler: Kysely's binds a hundred methods as it is
 * made, which was a measurable share of a request's CPU and garbage while every unit made its
 * own. Compiling is synchronous and starts afresh each time, so units can share it, as the
 * queries of one Kysely always have.
 */
const unitCompiler = new PostgresQueryCompiler();

class UnitDialect extends PostgresDialect {
  override createQueryCompiler(): PostgresQueryCompiler {
    return unitCompiler;
  }
}

/** A one-statement unit's SQL and parameters, as compiled for its connection. */
interface Outgoing {
  readonly sql: string;
  readonly parameters: unknown[];
}

type Compile = (client: pg.PoolClient) => Outgoing;

/**
 * The tenant filter's tenant in a compiled template: a text no tenant id can equal (not a
 * uuid, random per process), replaced by the call's tenant before anything is sent.
 */
const TEMPLATE_TENANT = `tenant of the call ${randomUUID()}`;

/** Shapes one template keeps compiled; past it, further shapes are compiled on each call. */
const MAX_SHAPES_PER_TEMPLATE = 64;

/** How a one-statement unit is sent: prepared or not, with the request's access check and the tenant's hold. */
interface Send {
  readonly prepared?: boolean;
  readonly check?: ScopeCheck | undefined;
  readonly hold?: Hold;
}

/** One unit of work's state: whether its handle may still run queries, what it compiled, what runs after commit. */
interface Unit {
  open: boolean;
  readonly sanctioned: Set<string>;
  /** Registered by afterCommit(); run only once COMMIT succeeded. */
  readonly effects: AfterCommitEffect[];
  /** Sends what the unit's connection holds corked (its BEGIN and scoping); idempotent. */
  readonly flush: () => void;
}

/**
 * How a tenant unit keeps a suspended tenant read-only (migration 0013): it opens READ ONLY
 * when the request read the tenant as suspended, and has PostgreSQL read the status itself
 * when nobody did (a job, the CLI) or when it is suspended (after that first SELECT the
 * transaction cannot be switched back to read-write). A request's pending access check
 * confirms the status it read, and holds the unit itself.
 */
interface Hold {
  readonly begin: 'BEGIN' | 'BEGIN READ ONLY';
  readonly statusCheck: boolean;
}

/** A unit's opening statements, and where among their results the access check's is (-1: none). */
interface Opening {
  readonly statements: PipelinedStatement[];
  readonly checkAt: number;
}

const NO_HOLD: Hold = { begin: 'BEGIN', statusCheck: false };

function tenantHold(check: ScopeCheck | undefined): Hold {
  const status = currentContext()?.tenantStatus;
  const suspended = status === 'suspended';
  return { begin: suspended ? 'BEGIN READ ONLY' : 'BEGIN', statusCheck: !check && (suspended || status === undefined) };
}

function seal(target: object, method: string): void {
  Object.defineProperty(target, method, {
    value: () => {
      throw new TenantScopeViolation(`${method}() is not available inside a scoped unit of work`);
    },
  });
}

/**
 * Wraps a unit's executor so that compiling requires a node its own plugins produced, and
 * records each SQL text it compiles: the only texts the unit's client will run.
 */
function sanctionCompiledSql(executor: QueryExecutor, sanctioned: Set<string>): void {
  const transformed = new WeakSet<object>();
  const transformQuery = executor.transformQuery.bind(executor);
  const compileQuery = executor.compileQuery.bind(executor);
  Object.defineProperty(executor, 'transformQuery', {
    value: (node: RootOperationNode, queryId: QueryId) => {
      const result = transformQuery(node, queryId);
      transformed.add(result);
      return result;
    },
  });
  Object.defineProperty(executor, 'compileQuery', {
    value: (node: RootOperationNode, queryId: QueryId): CompiledQuery => {
      if (!transformed.has(node)) throw new TenantScopeViolation('a query must pass through the unit of work\'s plugins before it is compiled');
      const compiled = compileQuery(node, queryId);
      sanctioned.add(compiled.sql);
      return compiled;
    },
  });
  for (const method of SEALED_EXECUTOR_METHODS) seal(executor, method);
}

/**
 * The pool every unit of work draws from. Pipelining lets the scoping statements share a
 * round trip with the first query (see #run); each query still gets its own Sync, so one
 * failing does not swallow the next. The limits bound how long a unit may wait for a
 * connection, run a statement and hold its transaction (see bounded-pool.ts): the server
 * passes the configured request bounds; a caller that names none gets the loose background ones.
 * A query sent with sendQuery() (every query of a unit of work) is also given up after the
 * statement timeout plus 1 s without an answer; other code querying its connections directly
 * (the outbox relay, realtime) is bounded by the checkout's transaction bound instead.
 * Timestamps are read by db/timestamps.ts.
 */
export function createPool(url: string, max: number, logger: Logger, limits: DatabaseLimits = BACKGROUND_LIMITS): pg.Pool {
  const pool = new BoundedPool(
    { connectionString: url, max, pipeline: true, types: poolTypes } as pg.PoolConfig,
    limits,
  );
  // An idle client that loses its connection emits here; the pool has already discarded it.
  pool.on('error', (error) => logger.warn({ err: error }, 'idle database client failed'));
  return pool;
}

/**
 * A plain pool for the job queue (graphile-worker): its tables are the owner's, not the app's.
 * No per-checkout bound (the worker holds one connection for LISTEN), but no query waits forever.
 */
export function createQueuePool(url: string, logger: Logger): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 4, ...plainPoolLimits(QUEUE_LIMITS) });
  pool.on('error', (error) => logger.warn({ err: error }, 'idle queue client failed'));
  return pool;
}
