// Where a hand-written Kysely tables interface and the migrated catalog disagree, one sentence
// per disagreement: relations, columns, nullability, the type pg returns, CHECK-listed values.

import { relative, resolve } from 'node:path';
import type pg from 'pg';
import { readCatalog, type CatalogColumn } from './catalog-columns.js';
import { readDeclaredTables, type DeclaredColumn, type ValueKind } from './declared-columns.js';

export interface RowTypeCheck {
  /** The TypeScript file that declares the interface. */
  readonly file: string;
  /** The interface (`Tables`): each property a table or view, each of its properties a column. */
  readonly interfaceName: string;
  /** Where the relations live; `public` unless said. */
  readonly schema?: string;
  /** Which relations of the schema the interface must declare (by default every one). */
  readonly declares?: (relation: string) => boolean;
  /** Columns the app fills on every insert by itself, so an insert may leave them out (none by default). */
  readonly filledOnInsert?: (relation: string, column: string) => boolean;
}

/**
 * What each PostgreSQL type reads as through pg's default parsers (the app sets no others).
 * A type missing here is reported, so a new one gets a rule on purpose rather than a pass.
 */
const READS_AS: Readonly<Record<string, ValueKind>> = {
  text: 'string',
  varchar: 'string',
  bpchar: 'string',
  citext: 'string',
  uuid: 'string',
  int2: 'number',
  int4: 'number',
  float4: 'number',
  float8: 'number',
  // 64-bit integers and numerics come back as text: a JavaScript number would lose digits.
  int8: 'string',
  numeric: 'string',
  bool: 'boolean',
  timestamptz: 'Date',
  timestamp: 'Date',
  date: 'Date',
  bytea: 'Buffer',
  // Text search vectors read as their text form.
  tsvector: 'string',
  json: 'json',
  jsonb: 'json',
  _text: 'string[]',
  _varchar: 'string[]',
  _uuid: 'string[]',
  _int2: 'number[]',
  _int4: 'number[]',
};

/** A JSON column may be declared as any shape, arrays included. */
function fits(kind: ValueKind, readsAs: ValueKind): boolean {
  return kind === readsAs || (readsAs === 'json' && (kind === 'string[]' || kind === 'number[]'));
}

const listed = (values: ReadonlySet<string>): string => [...values].sort().map((value) => `'${value}'`).join(' | ');

/** Inserts and updates of a table: what they may leave out or set to null must be what the table takes. */
function writeDrift(where: string, name: string, column: CatalogColumn, declared: DeclaredColumn, filled: boolean): string[] {
  if (column.nullable !== false) return [];
  const drift: string[] = [];
  if (declared.insert.nullable) drift.push(`${where}: NOT NULL in the database, but ${name} lets an insert write null`);
  else if (declared.insert.optional && !column.defaulted && !filled) {
    drift.push(`${where}: NOT NULL without a default in the database, but ${name} lets an insert leave it out`);
  }
  if (declared.update.nullable) drift.push(`${where}: NOT NULL in the database, but ${name} lets an update write null`);
  return drift;
}

function columnDrift(where: string, name: string, column: CatalogColumn, declared: DeclaredColumn): string[] {
  const readsAs = READS_AS[column.type];
  if (!readsAs) return [`${where}: ${column.type} in the database, a type this check has no rule for (add one to READS_AS)`];
  const drift: string[] = [];
  if (![...declared.kinds].every((kind) => fits(kind, readsAs))) {
    drift.push(`${where}: ${column.type} in the database reads as ${readsAs}, but ${name} has ${declared.text}`);
  }
  if (column.nullable === true && !declared.nullable) {
    drift.push(`${where}: nullable in the database, but ${name} has ${declared.text} (no null)`);
  }
  if (column.nullable === false && declared.nullable) {
    drift.push(`${where}: NOT NULL in the database, but ${name} has ${declared.text}`);
  }
  if (column.allowed && listed(column.allowed) !== (declared.literals && listed(declared.literals))) {
    drift.push(`${where}: a CHECK allows ${listed(column.allowed)}, but ${name} has ${declared.literals ? listed(declared.literals) : declared.text}`);
  }
  if (!column.allowed && declared.literals) {
    drift.push(`${where}: ${name} allows only ${listed(declared.literals)}, but no CHECK in the database lists its values`);
  }
  return drift;
}

/** Every disagreement, in relation and column order; empty when the interface is true to the schema. */
export async function rowTypeDrift(client: pg.Pool | pg.Client, check: RowTypeCheck): Promise<string[]> {
  const { file, interfaceName: name, schema = 'public', declares = () => true, filledOnInsert = () => false } = check;
  const declared = readDeclaredTables(file, name);
  const catalog = await readCatalog(client, schema);
  const shown = relative(process.cwd(), resolve(file));
  const drift: string[] = [];
  const relations = [...new Set([...declared.keys(), ...[...catalog.keys()].filter(declares)])].sort();
  for (const relation of relations) {
    const columns = declared.get(relation);
    const actual = catalog.get(relation);
    if (!actual) {
      drift.push(`${relation}: in ${name} (${shown}) but not in the database`);
      continue;
    }
    if (!columns) {
      drift.push(`${relation}: a ${actual.kind} in the database but not in ${name} (${shown})`);
      continue;
    }
    for (const [column, inDatabase] of actual.columns) {
      const inInterface = columns.get(column);
      const where = `${relation}.${column}`;
      if (inInterface) {
        drift.push(...columnDrift(where, name, inDatabase, inInterface));
        if (actual.kind === 'table') drift.push(...writeDrift(where, name, inDatabase, inInterface, filledOnInsert(relation, column)));
      }
      else drift.push(`${where}: in the database (${inDatabase.type}${inDatabase.nullable === false ? ' NOT NULL' : ''}) but not in ${name}`);
    }
    for (const column of columns.keys()) {
      if (!actual.columns.has(column)) drift.push(`${relation}.${column}: in ${name} but not in the database`);
    }
  }
  return drift;
}
