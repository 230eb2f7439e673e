// Several statements sent with ONE Sync: the extended protocol's Parse, Bind, Describe and
// Execute for each, then a single Sync, in one write. node-postgres ends every query with a
// Sync of its own, which costs PostgreSQL a ReadyForQuery and a flush of its socket, and
// node-postgres a query object, a promise and an answer to read. A unit of work's opening
// (BEGIN, its scoping, the access check) and a one-statement unit's whole transaction are one
// pipeline each (docs/benchmarks.md has what that saved, and what it did not).
//
// One Sync also makes a failure stop everything behind it: after an error PostgreSQL skips
// every message up to the Sync, so no statement ever runs after a failed scoping, check or
// BEGIN.

import pg from 'pg';
import { sendQuery } from './bounded-pool.js';
import { preparedName } from './prepared-statements.js';
import { rowBuilder } from './row-builders.js';

export interface PipelinedStatement {
  /** One statement, never empty (an empty one answers no CommandComplete). */
  readonly text: string;
  readonly values?: readonly unknown[];
  /** Kept as a named prepared statement on the connection (prepared-statements.ts). */
  readonly prepared?: boolean;
}

/** What a pipeline answered: every statement's result, or the failure that skipped the rest. */
export type PipelineOutcome =
  | { readonly ok: true; readonly results: readonly pg.QueryResult[] }
  | {
      readonly ok: false;
      readonly error: Error;
      /** The statement that failed (statements before it ran; it and those after did not, or not fully). */
      readonly failedAt: number;
      /**
       * False when the connection must not be reused: it failed rather than a statement, or the
       * failing statement's Parse was in flight, so whether that name now exists is unknown.
       */
      readonly reusable: boolean;
    };

interface Named {
  readonly index: number;
  readonly name: string;
  readonly text: string;
}

/** Connection internals node-postgres keeps per connection, which a pipeline must keep up to date. */
interface ProtocolConnection {
  readonly stream: { cork?: () => void; uncork?: () => void };
  readonly parsedStatements: Record<string, string>;
  readonly submittedNamedStatements: Record<string, string>;
  parse(message: { text: string; name: string; types: unknown[] }): void;
  bind(message: { portal: string; statement: string; values: readonly unknown[]; valueMapper: unknown }): void;
  describe(message: { type: 'P'; name: string }): void;
  execute(message: { portal: string; rows: number }): void;
  sync(): void;
}

/** node-postgres's Query as a subclass sees it: the message handlers its client calls (not in its types). */
interface QueryHandlers {
  /** The result the next rows go to (a Result of node-postgres's). */
  readonly _result: { parseRow: (values: readonly (string | null)[]) => Record<string, unknown>; readonly _parsers?: ((text: string) => unknown)[] };
  handleRowDescription(message: { readonly fields: readonly { readonly name: string; readonly format?: string }[] }): void;
  handleCommandComplete(message: unknown, connection: unknown): void;
  handleError(error: Error, connection: unknown): void;
  handleReadyForQuery(connection: unknown): void;
}
const Query = pg.Query as unknown as new (config: pg.QueryConfig) => QueryHandlers;
/** node-postgres's conversion of a JavaScript value to a parameter, as its own queries bind them. */
const prepareValue = (pg as unknown as { utils: { prepareValue: (value: unknown) => unknown } }).utils.prepareValue;

/**
 * The statements as one node-postgres query (its subclass, which a pipelining client accepts):
 * node-postgres collects one result per statement, as it does for a multi-statement simple query.
 */
class Pipeline extends Query {
  readonly #statements: readonly { readonly text: string; readonly values: readonly unknown[]; readonly name: string | undefined }[];
  /** Named statements this pipeline parses, in order. */
  readonly #parsing: Named[] = [];
  #completed = 0;
  #failedAt = -1;

  constructor(client: pg.ClientBase, statements: readonly PipelinedStatement[]) {
    super({ text: 'pipeline' });
    if (statements.length === 0) throw new TypeError('a pipeline needs a statement');
    this.#statements = statements.map(({ text, values = [], prepared = false }) => {
      if (text.trim() === '') throw new TypeError('a pipelined statement cannot be empty');
      const name = prepared ? preparedName(client, text) : undefined;
      return { text, values, name };
    });
  }

  /** Which statement failed, once one has: the count of those completed before it. */
  get failedAt(): number {
    return this.#failedAt;
  }

  /** True when the failing statement's own Parse was in this pipeline: its name may or may not exist now. */
  get parseInDoubt(): boolean {
    return this.#parsing.some((named) => named.index === this.#failedAt);
  }

  submit(protocol: pg.Connection): Error | null {
    const connection = protocol as unknown as ProtocolConnection;
    connection.stream.cork?.();
    try {
      this.#statements.forEach(({ text, values, name }, index) => {
        if (name === undefined || (connection.parsedStatements[name] === undefined && connection.submittedNamedStatements[name] === undefined)) {
          connection.parse({ text, name: name ?? '', types: [] });
          if (name !== undefined) {
            connection.submittedNamedStatements[name] = text;
            this.#parsing.push({ index, name, text });
          }
        }
        connection.bind({ portal: '', statement: name ?? '', values, valueMapper: prepareValue });
        connection.describe({ type: 'P', name: '' });
        connection.execute({ portal: '', rows: 0 });
      });
      connection.sync();
    } finally {
      connection.stream.uncork?.();
    }
    return null;
  }

  override handleRowDescription(message: { readonly fields: readonly { readonly name: string; readonly format?: string }[] }): void {
    super.handleRowDescription(message);
    const build = rowBuilder(message.fields);
    const result = this._result;
    if (build !== undefined && result._parsers !== undefined) {
      const parsers = result._parsers;
      result.parseRow = (values) => build(values, parsers);
    }
  }

  override handleCommandComplete(message: unknown, connection: unknown): void {
    this.#completed += 1;
    super.handleCommandComplete(message, connection);
  }

  override handleError(error: Error, connection: ProtocolConnection): void {
    this.#failedAt = this.#completed;
    // Statements before the failure were parsed; from it on, PostgreSQL skipped them (and the
    // failing one's name, if it was parsing, is left in doubt: see parseInDoubt).
    for (const named of this.#parsing) {
      if (named.index < this.#failedAt) connection.parsedStatements[named.name] = named.text;
      delete connection.submittedNamedStatements[named.name];
    }
    super.handleError(error, connection);
  }

  override handleReadyForQuery(connection: ProtocolConnection): void {
    for (const named of this.#parsing) {
      connection.parsedStatements[named.name] = named.text;
      delete connection.submittedNamedStatements[named.name];
    }
    super.handleReadyForQuery(connection);
  }
}

/**
 * Sends `statements` with one Sync, bounded as sendQuery() bounds a query, and answers their
 * results. A failed statement does not reject: the outcome names it, so the caller can tell a
 * refused check from a failed query, and roll back.
 *
 * @example
 *   const outcome = await sendPipeline(client, [{ text: 'BEGIN' }, { text: 'SELECT 1 AS one' }, { text: 'COMMIT' }]);
 *   if (outcome.ok) console.log(outcome.results[1].rows);
 */
export async function sendPipeline(client: pg.ClientBase, statements: readonly PipelinedStatement[]): Promise<PipelineOutcome> {
  const pipeline = new Pipeline(client, statements);
  try {
    const results = (await sendQuery(client, pipeline)) as pg.QueryResult | pg.QueryResult[];
    return { ok: true, results: Array.isArray(results) ? results : [results] };
  } catch (error) {
    const failure = error instanceof Error ? error : new Error(String(error));
    const failedAt = Math.max(pipeline.failedAt, 0);
    return { ok: false, error: failure, failedAt, reusable: error instanceof pg.DatabaseError && pipeline.failedAt >= 0 && !pipeline.parseInDoubt };
  }
}
