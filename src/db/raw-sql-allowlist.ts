// What raw SQL a scoped unit of work may run, decided by PostgreSQL's own parser: an
// expression over columns and parameters built from listed functions, operators and types.
// Raw SQL cannot name a table, run a subquery or call anything unlisted, however it is spelled.

import { loadModule, parseSync } from 'libpg-query';

// The WebAssembly build of PostgreSQL's parser loads once per process, before any unit runs.
await loadModule();

/**
 * Functions a scoped unit may call, by raw SQL or by the query builder: pure computations on
 * values already in reach, and current_setting (this session's settings, no tenant's rows).
 * Nothing that reads a table, a file or another session by name, or changes a setting
 * (query_to_xml, ts_stat, dblink, lo_import, set_config, ...) is here.
 */
const FUNCTIONS: ReadonlySet<string> = new Set([
  // text
  'lower', 'upper', 'length', 'char_length', 'btrim', 'ltrim', 'rtrim', 'substring', 'substr', 'replace',
  'split_part', 'position', 'strpos', 'concat', 'concat_ws', 'left', 'right', 'starts_with', 'md5', 'encode',
  'decode', 'like_escape', 'similar_to_escape',
  // numbers
  'abs', 'round', 'floor', 'ceil', 'ceiling', 'trunc', 'mod', 'greatest', 'least', 'ln', 'power',
  // time
  'now', 'statement_timestamp', 'clock_timestamp', 'date_trunc', 'date_bin', 'date_part', 'extract', 'to_char', 'to_timestamp',
  'to_date', 'make_interval', 'age', 'timezone',
  // aggregates and windows over rows the tenant filter has already scoped
  'count', 'sum', 'min', 'max', 'avg', 'bool_and', 'bool_or', 'every', 'array_agg', 'string_agg', 'jsonb_agg',
  'jsonb_object_agg', 'json_agg', 'row_number', 'rank', 'dense_rank', 'lag', 'lead', 'first_value', 'last_value',
  // json and arrays
  'to_jsonb', 'to_json', 'jsonb_build_object', 'jsonb_build_array', 'json_build_object', 'jsonb_set',
  'jsonb_typeof', 'jsonb_array_length', 'jsonb_strip_nulls', 'array_length', 'cardinality', 'unnest',
  // full-text search
  'to_tsvector', 'to_tsquery', 'plainto_tsquery', 'websearch_to_tsquery', 'phraseto_tsquery', 'ts_rank',
  'ts_rank_cd', 'ts_headline', 'setweight',
  // trigram similarity (pg_trgm, which the memory module's migration creates): pure functions of two texts
  'similarity', 'word_similarity',
  // identifiers, the invalidation channel, this session's settings, waiting (bounded by the
  // statement timeout; reads nothing)
  'gen_random_uuid', 'pg_notify', 'current_setting', 'pg_sleep',
]);

/**
 * Set-returning functions a scoped unit may read FROM, and only there: each confines itself to
 * the transaction's tenant (it reads app.tenant_id itself and takes no tenant argument), and
 * what it returns is joined to tenant tables that both layers filter. They run as the service
 * role to reach indexes that row-level security keeps from the app role's plans.
 */
const TENANT_CONFINED_SOURCES: ReadonlySet<string> = new Set([
  // The memory module's recall candidates and a store's near-duplicate (its migrations 0002, 0003 say why).
  'tenantry_memory.recall_text_candidates',
  'tenantry_memory.near_duplicate',
  // Semantic recall's vector arm, and storing a memory's embedding (memory migration 0005): the
  // latter runs as the app role, under both layers.
  'tenantry_memory.vector_candidates',
  'tenantry_memory.store_embedding',
]);

/** Types a value may be cast to: plain data types, no reg* lookups but the text-search config. */
const TYPES: ReadonlySet<string> = new Set([
  'bool', 'boolean', 'int2', 'int4', 'int8', 'smallint', 'integer', 'int', 'bigint', 'numeric', 'decimal',
  'float4', 'float8', 'real', 'text', 'varchar', 'bpchar', 'char', 'uuid', 'timestamptz', 'timestamp', 'date',
  'time', 'timetz', 'interval', 'json', 'jsonb', 'bytea', 'regconfig', 'tsvector', 'tsquery',
]);

/** Parse-tree nodes an allowed expression may contain. SubLink, RangeVar and the rest may not. */
const EXPRESSION_NODES: ReadonlySet<string> = new Set([
  'ResTarget', 'ColumnRef', 'String', 'Integer', 'Float', 'Boolean', 'BitString', 'A_Const', 'ParamRef', 'A_Expr',
  'BoolExpr', 'NullTest', 'BooleanTest', 'FuncCall', 'TypeCast', 'TypeName', 'CaseExpr', 'CaseWhen',
  'CoalesceExpr', 'MinMaxExpr', 'RowExpr', 'A_ArrayExpr', 'A_Indirection', 'A_Indices', 'A_Star',
  'SQLValueFunction', 'SortBy', 'WindowDef', 'CollateClause', 'List',
]);

export class RawSqlRefused extends Error {
  override name = 'RawSqlRefused';
}

/** `pg_catalog.lower` and `lower` are the same function; any other schema is refused. */
function unqualified(names: readonly string[], what: string): string {
  const [first, second, ...rest] = names.map((name) => name.toLowerCase());
  if (rest.length > 0 || (second !== undefined && first !== 'pg_catalog')) {
    throw new RawSqlRefused(`${what} "${names.join('.')}" is outside pg_catalog`);
  }
  return second ?? first ?? '';
}

const stringsOf = (list: unknown): string[] =>
  Array.isArray(list) ? list.map((item) => (item as { String?: { sval?: string } }).String?.sval ?? '') : [];

/** Throws unless the function may be called inside a scoped unit of work. */
export function assertAllowedFunction(name: string): void {
  const plain = unqualified(name.split('.'), 'function');
  if (!FUNCTIONS.has(plain)) throw new RawSqlRefused(`function "${name}" is not allowed inside a scoped unit of work`);
}

/** True when the function may be read FROM (see TENANT_CONFINED_SOURCES); never an expression. */
export function isTenantConfinedSource(name: string): boolean {
  return TENANT_CONFINED_SOURCES.has(name.toLowerCase());
}

function checkNode(kind: string, body: Record<string, unknown>): void {
  if (!EXPRESSION_NODES.has(kind)) throw new RawSqlRefused(`raw SQL may not contain ${kind}`);
  if (kind === 'FuncCall') assertAllowedFunction(stringsOf(body.funcname).join('.'));
  // The parser inlines a cast's TypeName (no kind key), so it is checked from the cast.
  if (kind === 'TypeCast' || kind === 'TypeName') {
    const names = kind === 'TypeCast' ? (body.typeName as { names?: unknown } | undefined)?.names : body.names;
    const type = unqualified(stringsOf(names), 'type');
    if (!TYPES.has(type)) throw new RawSqlRefused(`cast to type "${type}" is not allowed inside a scoped unit of work`);
  }
  if (kind === 'A_Expr') unqualified(stringsOf(body.name), 'operator');
  if (kind === 'CollateClause') unqualified(stringsOf(body.collname), 'collation');
}

/** Walks every node of a parse tree; a node is an object with one key, its kind. */
function walk(value: unknown): void {
  if (Array.isArray(value)) {
    for (const item of value) walk(item);
    return;
  }
  if (!value || typeof value !== 'object') return;
  for (const [key, child] of Object.entries(value)) {
    if (/^[A-Z]/.test(key) && child && typeof child === 'object' && !Array.isArray(child)) {
      checkNode(key, child as Record<string, unknown>);
    }
    walk(child);
  }
}

/** The SELECT a raw text parses to, refused unless it is one statement with only a target list. */
function bareSelect(text: string): Record<string, unknown> {
  let parsed;
  try {
    parsed = parseSync(text);
  } catch (error) {
    throw new RawSqlRefused(`raw SQL does not parse as one expression: ${(error as Error).message}`);
  }
  const statements = parsed.stmts ?? [];
  const select = (statements[0]?.stmt as { SelectStmt?: Record<string, unknown> } | undefined)?.SelectStmt;
  if (statements.length !== 1 || !select) throw new RawSqlRefused('raw SQL must be a single SELECT of expressions');
  const clauses = Object.keys(select).filter((key) => key !== 'targetList' && key !== 'limitOption' && key !== 'op');
  if (clauses.length > 0 || select.op !== 'SETOP_NONE') {
    throw new RawSqlRefused(`raw SQL may not have ${clauses.join(', ') || 'set operations'}`);
  }
  return select;
}

// Raw fragments are fixed template text, so each distinct text is parsed once.
const verdicts = new Map<string, RawSqlRefused | null>();
const MAX_REMEMBERED = 2_000;

function remembered(key: string, check: () => void): void {
  let verdict = verdicts.get(key);
  if (verdict === undefined) {
    try {
      check();
      verdict = null;
    } catch (error) {
      if (!(error instanceof RawSqlRefused)) throw error;
      verdict = error;
    }
    if (verdicts.size < MAX_REMEMBERED) verdicts.set(key, verdict);
  }
  if (verdict) throw verdict;
}

/**
 * Throws unless compiled raw SQL (parameters as $n) is one allowed expression, as it appears
 * inside a query built by the query builder.
 */
export function assertAllowedExpression(text: string): void {
  remembered(`e:${text}`, () => {
    const select = bareSelect(`SELECT (${text})`);
    if ((select.targetList as unknown[]).length !== 1) throw new RawSqlRefused('raw SQL must be one expression');
    walk(select.targetList);
  });
}

/** Throws unless compiled raw SQL run as a statement of its own is `SELECT <allowed expressions>`. */
export function assertAllowedStatement(text: string): void {
  remembered(`s:${text}`, () => walk(bareSelect(text).targetList));
}
