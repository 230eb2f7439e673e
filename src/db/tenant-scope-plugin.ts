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
  type ColumnUpdateNode,
  type MergeQueryNode,
  IdentifierNode,
} from 'kysely';
import { TENANT_COLUMN, TENANT_TABLES } from './tenant-tables.js';

export class TenantScopeViolation extends Error {
  override name = 'TenantScopeViolation';
}

export interface TenantScope {
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

const RAW_TENANT_TABLE = new RegExp(`\\b(${[...TENANT_TABLES].join('|')})\\b`, 'i');

/**
 * Raw SQL that could end the scoped transaction, change the role or settings it depends
 * on, or reach a table by a name the check above cannot see (Unicode-escaped identifiers,
 * SQL built from strings at run time).
 */
const RAW_ESCAPE = new RegExp(
  [
    String.raw`\b(commit|rollback|abort|begin|savepoint|discard|reset)\b`,
    String.raw`\bstart\s+transaction\b`,
    String.raw`\brelease\s+savepoint\b`,
    String.raw`\bset\s+(local\s+|session\s+)?(role|session|app\.|row_security|search_path)`,
    String.raw`\bset_config\s*\(`,
    String.raw`\bu&["']`,
    String.raw`\b(query_to_xml\w*|query_to_json\w*|cursor_to_xml\w*|table_to_xml\w*|dblink\w*|lo_import|pg_read_file)\b`,
    String.raw`\bexecute\b`,
    String.raw`\bdo\s*\$`,
    String.raw`\bcopy\s`,
  ].join('|'),
  'i',
);

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

  /** The predicate that confines this table reference, or a throw when nothing may. */
  #confine(table: string, reference: string, read: boolean): OperationNode {
    if (this.#scope.tenantId) return this.#predicate(reference);
    const identity = read ? this.#scope.identityReads?.get(table) : undefined;
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
      const found = tenantTableOf(node);
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
      const found = tenantTableOf(join.table);
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
    const transformed = super.transformSelectQuery(node);
    const { joins, extra } = this.#scopeJoins(transformed.joins, true);
    const where = this.#scopeWhere(transformed.where, [...(transformed.from?.froms ?? []), ...extra], true);
    return { ...transformed, ...(joins ? { joins } : {}), ...(where ? { where } : {}) };
  }

  protected override transformUpdateQuery(node: UpdateQueryNode): UpdateQueryNode {
    const transformed = super.transformUpdateQuery(node);
    if (transformed.table && tenantTableOf(transformed.table)) this.#checkUpdates(transformed.updates);
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
    this.#confine(found.table, found.table, false);
    this.#checkUpdates(transformed.onConflict?.updates);
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
    const found = tables.map(tenantTableOf).find(Boolean);
    if (found) throw new TenantScopeViolation(`MERGE on tenant table "${found.table}"; use insert ... on conflict or update`);
    return transformed;
  }

  /**
   * Raw SQL cannot be rewritten, so raw SQL that names a tenant table (in its text or as an
   * identifier parameter) is refused, and so is raw SQL that could step outside the scope.
   */
  protected override transformRaw(node: RawNode): RawNode {
    const transformed = super.transformRaw(node);
    const text = transformed.sqlFragments.join(' ');
    const named = RAW_TENANT_TABLE.exec(text)?.[1] ?? transformed.parameters.map(namedTenantTable).find(Boolean);
    if (named) {
      throw new TenantScopeViolation(`raw SQL names tenant table "${named}"; use the query builder so it can be scoped`);
    }
    const escape = RAW_ESCAPE.exec(text);
    if (escape) throw new TenantScopeViolation(`raw SQL "${escape[0]}" is not allowed inside a scoped unit of work`);
    return transformed;
  }
}

/** A tenant table named by an identifier inside raw SQL (sql.table(), sql.id(), sql.ref()). */
function namedTenantTable(node: OperationNode): string | undefined {
  if (IdentifierNode.is(node)) return TENANT_TABLES.has(node.name.toLowerCase()) ? node.name : undefined;
  for (const value of Object.values(node)) {
    const children = Array.isArray(value) ? value : [value];
    for (const child of children) {
      if (child && typeof child === 'object' && 'kind' in child) {
        const found = namedTenantTable(child as OperationNode);
        if (found) return found;
      }
    }
  }
  return undefined;
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
