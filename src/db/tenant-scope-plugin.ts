// Layer 1 of tenant isolation: a Kysely plugin that adds `tenant_id = <current tenant>` to
// every read, update and delete of a tenant table (joins and subqueries included) and fills
// tenant_id on insert. It is independent of RLS: either layer alone keeps tenants apart.

import {
  AliasNode,
  AndNode,
  CastNode,
  IdentifierNode,
  DataTypeNode,
  SelectAllNode,
  SelectionNode,
  OnNode,
  ParensNode,
  BinaryOperationNode,
  ColumnNode,
  DeleteQueryNode,
  InsertQueryNode,
  JoinNode,
  OperationNodeTransformer,
  OperatorNode,
  PrimitiveValueListNode,
  ReferenceNode,
  TableNode,
  ValueListNode,
  ValueNode,
  ValuesNode,
  WhereNode,
  type KyselyPlugin,
  type OperationNode,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RawNode,
  type RootOperationNode,
  SelectQueryNode,
  type UnknownRow,
  type UpdateQueryNode,
  type ColumnUpdateNode,
  type MergeQueryNode,
  type FunctionNode,
  type OrderByItemNode,
  type ExplainNode,
  type AggregateFunctionNode,
  type QueryId,
  createQueryId,
  PostgresQueryCompiler,
  RawNode as RawNodes,
} from 'kysely';
import { assertAllowedExpression, assertAllowedFunction, assertAllowedStatement, isTenantConfinedSource, RawSqlRefused } from './raw-sql-allowlist.js';
import { TENANT_COLUMN } from './tenant-tables.js';

export class TenantScopeViolation extends Error {
  override name = 'TenantScopeViolation';
}

export interface TenantScope {
  /** The tables that hold tenant data: the registered modules' (see src/modules/registry.ts). */
  readonly tenantTables: ReadonlySet<string>;
  /** The tenant every query is confined to; undefined outside a tenant scope. */
  readonly tenantId: string | undefined;
  /**
   * Outside a tenant, the tenant tables that may still be read, each narrowed to one
   * identity by a column (a user's own memberships: user_id; one API key: prefix; one
   * invitation: token_hash). RLS narrows them the same way; this is the query layer's half.
   * Never writable.
   */
  readonly identityReads?: ReadonlyMap<string, { readonly column: string; readonly value: unknown }>;
}

const compiler = new PostgresQueryCompiler();

/** The SQL text a raw node compiles to, parameters as $n: what PostgreSQL will parse. */
function rawText(node: RawNode): string {
  return compiler.compileQuery(node, createQueryId()).sql;
}

/** Raw SQL where a table belongs: a bare name there would read a tenant table unscoped. */
function rawTableSource(node: OperationNode): boolean {
  return RawNodes.is(node) || (AliasNode.is(node) && RawNodes.is(node.node));
}

/** The raw words the query builder itself writes after an ORDER BY expression. */
const ORDER_DIRECTION = /^(asc|desc)?(\s+nulls\s+(first|last))?$/i;
/** EXPLAIN options: keywords, each with an optional boolean or format word. */
const EXPLAIN_OPTIONS = /^\s*[a-z_]+(\s+[a-z]+)?(\s*,\s*[a-z_]+(\s+[a-z]+)?)*\s*$/i;

/** A tenant-confined function read FROM (`fn(...) AS alias`): the function node, else undefined. */
function confinedSource(node: OperationNode): FunctionNode | undefined {
  if (!AliasNode.is(node) || node.node.kind !== 'FunctionNode') return undefined;
  const func = node.node as FunctionNode;
  return isTenantConfinedSource(func.func) ? func : undefined;
}

function refuseRawTableSources(nodes: readonly OperationNode[]): void {
  if (nodes.some(rawTableSource)) throw new TenantScopeViolation('raw SQL cannot be a table source inside a scoped unit of work');
}

/** A table reference in a FROM, JOIN, UPDATE or DELETE: its name and how the query names it. */
function tenantTableOf(node: OperationNode, tenantTables: ReadonlySet<string>): { table: string; reference: string } | undefined {
  let tableNode: TableNode | undefined;
  let alias: string | undefined;
  if (TableNode.is(node)) tableNode = node;
  else if (AliasNode.is(node) && TableNode.is(node.node)) {
    tableNode = node.node;
    alias = (node.alias as { name?: string }).name;
  }
  if (!tableNode) return undefined;
  const schema = tableNode.table.schema?.name;
  const table = tableNode.table.identifier.name;
  if ((schema && schema !== 'public') || !tenantTables.has(table)) return undefined;
  return { table, reference: alias ?? table };
}

/**
 * `(<existing condition>) AND <tenant predicate>`: the parentheses keep an OR in the
 * existing condition from swallowing the tenant predicate.
 */
function guarded(existing: OperationNode, predicate: OperationNode): OperationNode {
  return AndNode.create(ParensNode.is(existing) ? existing : ParensNode.create(existing), predicate);
}

function columnName(node: OperationNode): string | undefined {
  if (ColumnNode.is(node)) return node.column.name;
  if (ReferenceNode.is(node) && ColumnNode.is(node.column)) return node.column.column.name;
  return undefined;
}

/**
 * One transformer serves every plugin: Kysely's transformer binds a hundred methods as it is
 * made, which was a measurable share of a request's CPU and garbage while every unit of work
 * made its own. A transformation is synchronous, so the scope it applies is set for its length
 * (see transform()) and no two can interleave.
 */
class TenantScopeTransformer extends OperationNodeTransformer {
  #scope: TenantScope | undefined;
  /** Raw nodes nested in a raw node are part of its text, checked once with it. */
  #rawDepth = 0;
  /** Tenant-confined functions met as a SELECT's FROM or JOIN source: allowed there only. */
  #sources = new WeakSet<FunctionNode>();

  /** Runs one transformation under `scope`, starting from a fresh transformer's state. */
  transform<T>(scope: TenantScope, transformation: () => T): T {
    if (this.#scope) throw new TenantScopeViolation('a tenant filter transformation is already running');
    this.#scope = scope;
    this.#rawDepth = 0;
    this.#sources = new WeakSet();
    // A transformation that threw leaves its path on Kysely's node stack.
    this.nodeStack.length = 0;
    try {
      return transformation();
    } finally {
      this.#scope = undefined;
    }
  }

  get #current(): TenantScope {
    if (!this.#scope) throw new TenantScopeViolation('the tenant filter ran outside a transformation');
    return this.#scope;
  }

  #predicate(reference: string): OperationNode {
    return BinaryOperationNode.create(
      ReferenceNode.create(ColumnNode.create(TENANT_COLUMN), TableNode.create(reference)),
      OperatorNode.create('='),
      ValueNode.create(this.#current.tenantId),
    );
  }

  /** The predicate that confines this table reference, or a throw when nothing may. */
  #confine(table: string, reference: string, read: boolean): OperationNode {
    if (this.#current.tenantId) return this.#predicate(reference);
    const identity = read ? this.#current.identityReads?.get(table) : undefined;
    if (identity) {
      return BinaryOperationNode.create(
        ReferenceNode.create(ColumnNode.create(identity.column), TableNode.create(reference)),
        OperatorNode.create('='),
        ValueNode.create(identity.value),
      );
    }
    throw new TenantScopeViolation(`query on tenant table "${table}" outside a tenant scope`);
  }

  #scopeWhere(where: WhereNode | undefined, tables: readonly OperationNode[], read: boolean): WhereNode | undefined {
    let scoped = where;
    for (const node of tables) {
      const found = tenantTableOf(node, this.#current.tenantTables);
      if (!found) continue;
      const predicate = this.#confine(found.table, found.reference, read);
      scoped = WhereNode.create(scoped ? guarded(scoped.where, predicate) : predicate);
    }
    return scoped;
  }

  /** Join conditions go into ON, so a LEFT JOIN keeps its meaning. */
  #scopeJoins(joins: readonly JoinNode[] | undefined, read: boolean): { joins?: JoinNode[]; extra: OperationNode[] } {
    if (!joins) return { extra: [] };
    const extra: OperationNode[] = [];
    const scoped = joins.map((join) => {
      const found = tenantTableOf(join.table, this.#current.tenantTables);
      if (!found) return join;
      const predicate = this.#confine(found.table, found.reference, read);
      if (!join.on) {
        extra.push(join.table);
        return join;
      }
      return { ...join, on: OnNode.create(guarded(join.on.on, predicate)) };
    });
    return { joins: scoped, extra };
  }

  protected override transformSelectQuery(node: SelectQueryNode): SelectQueryNode {
    for (const source of [...(node.from?.froms ?? []), ...(node.joins ?? []).map((join) => join.table)]) {
      const func = confinedSource(source);
      if (func) this.#sources.add(func);
    }
    const transformed = super.transformSelectQuery(node);
    refuseRawTableSources([...(transformed.from?.froms ?? []), ...(transformed.joins ?? []).map((join) => join.table)]);
    const { joins, extra } = this.#scopeJoins(transformed.joins, true);
    const where = this.#scopeWhere(transformed.where, [...(transformed.from?.froms ?? []), ...extra], true);
    return { ...transformed, ...(joins ? { joins } : {}), ...(where ? { where } : {}) };
  }

  protected override transformUpdateQuery(node: UpdateQueryNode): UpdateQueryNode {
    const transformed = super.transformUpdateQuery(node);
    refuseRawTableSources([
      ...(transformed.table ? [transformed.table] : []),
      ...(transformed.from?.froms ?? []),
      ...(transformed.joins ?? []).map((join) => join.table),
    ]);
    if (transformed.table && tenantTableOf(transformed.table, this.#current.tenantTables)) this.#checkUpdates(transformed.updates);
    const { joins, extra } = this.#scopeJoins(transformed.joins, false);
    const targets = [...(transformed.table ? [transformed.table] : []), ...(transformed.from?.froms ?? []), ...extra];
    const where = this.#scopeWhere(transformed.where, targets, false);
    return { ...transformed, ...(joins ? { joins } : {}), ...(where ? { where } : {}) };
  }

  protected override transformDeleteQuery(node: DeleteQueryNode): DeleteQueryNode {
    const transformed = super.transformDeleteQuery(node);
    refuseRawTableSources([
      ...transformed.from.froms,
      ...(transformed.using?.tables ?? []),
      ...(transformed.joins ?? []).map((join) => join.table),
    ]);
    const { joins, extra } = this.#scopeJoins(transformed.joins, false);
    const targets = [...transformed.from.froms, ...(transformed.using?.tables ?? []), ...extra];
    const where = this.#scopeWhere(transformed.where, targets, false);
    return { ...transformed, ...(joins ? { joins } : {}), ...(where ? { where } : {}) };
  }

  protected override transformInsertQuery(node: InsertQueryNode): InsertQueryNode {
    const transformed = super.transformInsertQuery(node);
    if (transformed.into) refuseRawTableSources([transformed.into]);
    const found = transformed.into ? tenantTableOf(transformed.into, this.#current.tenantTables) : undefined;
    if (!found) return transformed;
    this.#confine(found.table, found.table, false);
    this.#checkUpdates(transformed.onConflict?.updates);
    const columns = transformed.columns ?? [];
    const values = transformed.values;
    if (values && SelectQueryNode.is(values)) return this.#insertSelect(transformed, found.table, columns, values);
    if (!values || !ValuesNode.is(values)) {
      throw new TenantScopeViolation(`insert into "${found.table}" must use VALUES or a SELECT so its tenant can be checked`);
    }
    const index = columns.findIndex((column) => column.column.name === TENANT_COLUMN);
    if (index >= 0) {
      for (const row of values.values) this.#assertOwnTenant(row, index, found.table);
      return transformed;
    }
    const tenantId = this.#current.tenantId;
    const rows = values.values.map((row) =>
      PrimitiveValueListNode.is(row)
        ? PrimitiveValueListNode.create([...row.values, tenantId])
        : ValueListNode.create([...row.values, ValueNode.create(tenantId)]),
    );
    return {
      ...transformed,
      columns: [...columns, ColumnNode.create(TENANT_COLUMN)],
      values: ValuesNode.create(rows),
    };
  }

  /**
   * INSERT ... SELECT (rows from arrays: `SELECT unnest($1::text[]) AS key, ...`): the SELECT was
   * scoped like any other, and the tenant is added as one more selected value, so the query
   * may not name tenant_id itself, nor select with `*` or a set operation, where an added
   * column would not line up.
   */
  #insertSelect(insert: InsertQueryNode, table: string, columns: readonly ColumnNode[], select: SelectQueryNode): InsertQueryNode {
    if (columns.length === 0) throw new TenantScopeViolation(`insert into "${table}" from a SELECT must list its columns`);
    if (columns.some((column) => column.column.name === TENANT_COLUMN)) {
      throw new TenantScopeViolation(`insert into "${table}" from a SELECT may not name ${TENANT_COLUMN}: the tenant filter adds it`);
    }
    const selections = select.selections ?? [];
    if (select.setOperations?.length || selections.length !== columns.length || selections.some((selection) => SelectAllNode.is(selection.selection))) {
      throw new TenantScopeViolation(`insert into "${table}" from a SELECT needs one named value per column, without * or set operations`);
    }
    const tenant = SelectionNode.create(
      AliasNode.create(CastNode.create(ValueNode.create(this.#current.tenantId), DataTypeNode.create('uuid')), IdentifierNode.create(TENANT_COLUMN)),
    );
    return {
      ...insert,
      columns: [...columns, ColumnNode.create(TENANT_COLUMN)],
      values: SelectQueryNode.cloneWithSelections(select, [tenant]),
    };
  }

  #assertOwnTenant(row: PrimitiveValueListNode | ValueListNode, index: number, table: string): void {
    const value = PrimitiveValueListNode.is(row)
      ? row.values[index]
      : ((node) => (node && ValueNode.is(node) ? node.value : Symbol('not a plain value')))(row.values[index]);
    if (value !== this.#current.tenantId) {
      throw new TenantScopeViolation(`insert into "${table}" names another tenant`);
    }
  }

  /** Rows never move between tenants, and every updated key must be a plain column. */
  #checkUpdates(updates: readonly ColumnUpdateNode[] | undefined): void {
    for (const update of updates ?? []) {
      const name = columnName(update.column);
      if (name === undefined) throw new TenantScopeViolation('an update of a tenant table must name plain columns');
      if (name === TENANT_COLUMN) throw new TenantScopeViolation('tenant_id cannot be updated: rows never move between tenants');
    }
  }

  /** MERGE mixes reads, inserts and updates under one target: not supported on tenant tables. */
  protected override transformMergeQuery(node: MergeQueryNode): MergeQueryNode {
    const transformed = super.transformMergeQuery(node);
    const tables = [transformed.into, ...(transformed.using ? [transformed.using.table] : [])];
    const found = tables.map((table) => tenantTableOf(table, this.#current.tenantTables)).find(Boolean);
    if (found) throw new TenantScopeViolation(`MERGE on tenant table "${found.table}"; use insert ... on conflict or update`);
    return transformed;
  }

  /**
   * Raw SQL cannot be rewritten, so it may only be an expression PostgreSQL's parser shows to
   * read nothing by itself (see raw-sql-allowlist.ts); the outermost raw node is checked with
   * everything nested in it. A raw statement of its own is checked by the plugin.
   */
  protected override transformRaw(node: RawNode, queryId?: QueryId): RawNode {
    if (this.#rawDepth === 0) refusedAsScopeViolation(() => assertAllowedExpression(rawText(node)));
    this.#rawDepth++;
    try {
      return super.transformRaw(node, queryId);
    } finally {
      this.#rawDepth--;
    }
  }

  /** `orderBy(x, 'desc')` carries its direction as raw SQL: only direction words pass. */
  protected override transformOrderByItem(node: OrderByItemNode, queryId?: QueryId): OrderByItemNode {
    const direction = node.direction;
    if (!direction || !RawNodes.is(direction)) return super.transformOrderByItem(node, queryId);
    if (!ORDER_DIRECTION.test(rawText(direction).trim())) {
      throw new TenantScopeViolation('an ORDER BY direction must be asc or desc (with nulls first or last)');
    }
    return { ...super.transformOrderByItem({ ...node, direction: undefined }, queryId), direction };
  }

  /** `explain(format, sql\`analyze\`)` carries its options as raw SQL: only option words pass. */
  protected override transformExplain(node: ExplainNode, queryId?: QueryId): ExplainNode {
    const options = node.options;
    if (!options || !RawNodes.is(options)) return super.transformExplain(node, queryId);
    if (!EXPLAIN_OPTIONS.test(rawText(options))) throw new TenantScopeViolation('EXPLAIN options must be option keywords');
    return { ...super.transformExplain({ ...node, options: undefined }, queryId), options };
  }

  /** A raw statement: `SELECT <allowed expressions>`, nothing else. */
  transformRawStatement(node: RawNode, queryId?: QueryId): RawNode {
    refusedAsScopeViolation(() => assertAllowedStatement(rawText(node)));
    this.#rawDepth++;
    try {
      return super.transformRaw(node, queryId);
    } finally {
      this.#rawDepth--;
    }
  }

  /**
   * The query builder can call any function by name (eb.fn('ts_stat', ...)): the same list
   * applies, except to a tenant-confined function read FROM (raw-sql-allowlist.ts).
   */
  protected override transformFunction(node: FunctionNode, queryId?: QueryId): FunctionNode {
    // A tenant-confined function read FROM confines itself; its arguments are checked as any.
    if (!this.#sources.has(node)) refusedAsScopeViolation(() => assertAllowedFunction(node.func));
    return super.transformFunction(node, queryId);
  }

  protected override transformAggregateFunction(node: AggregateFunctionNode, queryId?: QueryId): AggregateFunctionNode {
    refusedAsScopeViolation(() => assertAllowedFunction(node.func));
    return super.transformAggregateFunction(node, queryId);
  }
}

function refusedAsScopeViolation(check: () => void): void {
  try {
    check();
  } catch (error) {
    if (error instanceof RawSqlRefused) throw new TenantScopeViolation(error.message);
    throw error;
  }
}

const transformer = new TenantScopeTransformer();

export class TenantScopePlugin implements KyselyPlugin {
  readonly #scope: TenantScope;

  constructor(scope: TenantScope) {
    this.#scope = scope;
  }

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    const node = args.node;
    return transformer.transform(this.#scope, () =>
      RawNodes.is(node) ? transformer.transformRawStatement(node, args.queryId) : transformer.transformNode(node, args.queryId),
    );
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}
