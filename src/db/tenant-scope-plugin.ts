// Layer 1 of tenant isolation: a Kysely plugin that adds `tenant_id = <current tenant>` to
// every read, update and delete of a tenant table (joins and subqueries included) and fills
// tenant_id on insert. It is independent of RLS: either layer alone keeps tenants apart.

import {
  AliasNode,
  AndNode,
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
  type SelectQueryNode,
  type UnknownRow,
  type UpdateQueryNode,
} from 'kysely';
import { TENANT_COLUMN, TENANT_TABLES } from './tenant-tables.js';

export class TenantScopeViolation extends Error {
  override name = 'TenantScopeViolation';
}

export interface TenantScope {
  /** The tenant every query is confined to; undefined outside a tenant scope. */
  readonly tenantId: string | undefined;
  /**
   * Tenant tables that may be read without a tenant, because an RLS policy narrows them
   * to one identity (a user's own memberships, one API key by prefix). Never writable.
   */
  readonly unscopedReads?: ReadonlySet<string>;
}

const RAW_TENANT_TABLE = new RegExp(`\\b(${[...TENANT_TABLES].join('|')})\\b`, 'i');

/** A table reference in a FROM, JOIN, UPDATE or DELETE: its name and how the query names it. */
function tenantTableOf(node: OperationNode): { table: string; reference: string } | undefined {
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
  if ((schema && schema !== 'public') || !TENANT_TABLES.has(table)) return undefined;
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

class TenantScopeTransformer extends OperationNodeTransformer {
  readonly #scope: TenantScope;

  constructor(scope: TenantScope) {
    super();
    this.#scope = scope;
  }

  #predicate(reference: string): OperationNode {
    return BinaryOperationNode.create(
      ReferenceNode.create(ColumnNode.create(TENANT_COLUMN), TableNode.create(reference)),
      OperatorNode.create('='),
      ValueNode.create(this.#scope.tenantId),
    );
  }

  /** Throws unless a tenant is in scope (or the table is an identity-narrowed read). */
  #requireTenant(table: string, read: boolean): boolean {
    if (this.#scope.tenantId) return true;
    if (read && this.#scope.unscopedReads?.has(table)) return false;
    throw new TenantScopeViolation(`query on tenant table "${table}" outside a tenant scope`);
  }

  #scopeWhere(where: WhereNode | undefined, tables: readonly OperationNode[], read: boolean): WhereNode | undefined {
    let scoped = where;
    for (const node of tables) {
      const found = tenantTableOf(node);
      if (!found || !this.#requireTenant(found.table, read)) continue;
      const predicate = this.#predicate(found.reference);
      scoped = WhereNode.create(scoped ? guarded(scoped.where, predicate) : predicate);
    }
    return scoped;
  }

  /** Join conditions go into ON, so a LEFT JOIN keeps its meaning. */
  #scopeJoins(joins: readonly JoinNode[] | undefined, read: boolean): { joins?: JoinNode[]; extra: OperationNode[] } {
    if (!joins) return { extra: [] };
    const extra: OperationNode[] = [];
    const scoped = joins.map((join) => {
      const found = tenantTableOf(join.table);
      if (!found || !this.#requireTenant(found.table, read)) return join;
      if (!join.on) {
        extra.push(join.table);
        return join;
      }
      return { ...join, on: OnNode.create(guarded(join.on.on, this.#predicate(found.reference))) };
    });
    return { joins: scoped, extra };
  }

  protected override transformSelectQuery(node: SelectQueryNode): SelectQueryNode {
    const transformed = super.transformSelectQuery(node);
    const { joins, extra } = this.#scopeJoins(transformed.joins, true);
    const where = this.#scopeWhere(transformed.where, [...(transformed.from?.froms ?? []), ...extra], true);
    return { ...transformed, ...(joins ? { joins } : {}), ...(where ? { where } : {}) };
  }

  protected override transformUpdateQuery(node: UpdateQueryNode): UpdateQueryNode {
    const transformed = super.transformUpdateQuery(node);
    for (const update of transformed.updates ?? []) {
      if (columnName(update.column) === TENANT_COLUMN) {
        throw new TenantScopeViolation('tenant_id cannot be updated: rows never move between tenants');
      }
    }
    const { joins, extra } = this.#scopeJoins(transformed.joins, false);
    const targets = [...(transformed.table ? [transformed.table] : []), ...(transformed.from?.froms ?? []), ...extra];
    const where = this.#scopeWhere(transformed.where, targets, false);
    return { ...transformed, ...(joins ? { joins } : {}), ...(where ? { where } : {}) };
  }

  protected override transformDeleteQuery(node: DeleteQueryNode): DeleteQueryNode {
    const transformed = super.transformDeleteQuery(node);
    const { joins, extra } = this.#scopeJoins(transformed.joins, false);
    const targets = [...transformed.from.froms, ...(transformed.using?.tables ?? []), ...extra];
    const where = this.#scopeWhere(transformed.where, targets, false);
    return { ...transformed, ...(joins ? { joins } : {}), ...(where ? { where } : {}) };
  }

  protected override transformInsertQuery(node: InsertQueryNode): InsertQueryNode {
    const transformed = super.transformInsertQuery(node);
    const found = transformed.into ? tenantTableOf(transformed.into) : undefined;
    if (!found) return transformed;
    this.#requireTenant(found.table, false);
    const columns = transformed.columns ?? [];
    const values = transformed.values;
    if (!values || !ValuesNode.is(values)) {
      throw new TenantScopeViolation(`insert into "${found.table}" must use VALUES so its tenant can be checked`);
    }
    const index = columns.findIndex((column) => column.column.name === TENANT_COLUMN);
    if (index >= 0) {
      for (const row of values.values) this.#assertOwnTenant(row, index, found.table);
      return transformed;
    }
    const tenantId = this.#scope.tenantId;
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

  #assertOwnTenant(row: PrimitiveValueListNode | ValueListNode, index: number, table: string): void {
    const value = PrimitiveValueListNode.is(row)
      ? row.values[index]
      : ((node) => (node && ValueNode.is(node) ? node.value : Symbol('not a plain value')))(row.values[index]);
    if (value !== this.#scope.tenantId) {
      throw new TenantScopeViolation(`insert into "${table}" names another tenant`);
    }
  }

  /** Raw SQL cannot be rewritten, so raw SQL that names a tenant table is refused. */
  protected override transformRaw(node: RawNode): RawNode {
    const transformed = super.transformRaw(node);
    const text = transformed.sqlFragments.join(' ');
    const match = RAW_TENANT_TABLE.exec(text);
    if (match) {
      throw new TenantScopeViolation(`raw SQL names tenant table "${match[1]}"; use the query builder so it can be scoped`);
    }
    return transformed;
  }
}

export class TenantScopePlugin implements KyselyPlugin {
  readonly #transformer: TenantScopeTransformer;

  constructor(scope: TenantScope) {
    this.#transformer = new TenantScopeTransformer(scope);
  }

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return this.#transformer.transformNode(args.node);
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}
