// Rows built by one function per column list. node-postgres builds a row by copying an empty
// row of the result's columns and storing each value by its name; in a process whose queries
// return many column lists, both the copy and the stores see so many shapes that V8 handles
// them megamorphically. A function whose object literal names the columns builds every row of
// its list with one hidden class and no lookups (docs/benchmarks.md).

/** A field as node-postgres describes it (RowDescription). */
interface Field {
  readonly name: string;
  readonly format?: string;
}

type Parser = (text: string) => unknown;
export type RowBuilder = (values: readonly (string | null)[], parsers: readonly Parser[]) => Record<string, unknown>;

/** Column lists are few (one per statement shape); past this many, the cache starts again. */
const MAX_BUILDERS = 1_000;
const builders = new Map<string, RowBuilder>();

/**
 * The builder for rows of these fields: a value passes through its column's parser, NULL stays
 * null, and a name used twice keeps its last column's value, as node-postgres does. Undefined
 * for what node-postgres must build itself: binary columns, and a column named `__proto__`
 * (which an object literal would take for the prototype).
 */
export function rowBuilder(fields: readonly Field[]): RowBuilder | undefined {
  if (fields.some((field) => field.format === 'binary' || field.name === '__proto__')) return undefined;
  const key = fields.map((field) => field.name).join('\u0000');
  let build = builders.get(key);
  if (build === undefined) {
    // The names are quoted by JSON.stringify: a column's name is data, never code.
    const properties = fields.map((field, i) => `${JSON.stringify(field.name)}: values[${i}] === null ? null : parsers[${i}](values[${i}])`);
    build = new Function('values', 'parsers', `'use strict'; return { ${properties.join(', ')} };`) as RowBuilder;
    if (builders.size >= MAX_BUILDERS) builders.clear();
    builders.set(key, build);
  }
  return build;
}
