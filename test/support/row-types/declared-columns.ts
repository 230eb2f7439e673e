// The columns of a Kysely tables interface (`Tables` of src/db/tables.ts) as the TypeScript
// compiler sees them: what a select returns for each. The other side of the row-type check.

import { dirname, resolve } from 'node:path';
import ts from 'typescript';

/** What one member of a select type is, as far as PostgreSQL's values go. */
export type ValueKind = 'string' | 'number' | 'boolean' | 'Date' | 'Buffer' | 'json' | 'string[]' | 'number[]' | 'undefined' | 'other';

/** What an insert or an update may write to a column. */
export interface DeclaredWrite {
  /** It may leave the column out: the type admits undefined, or null (Kysely's Insertable). */
  readonly optional: boolean;
  /** It may write null. */
  readonly nullable: boolean;
}

export interface DeclaredColumn {
  /** The select type as written out by the compiler, for messages: `string | null`. */
  readonly text: string;
  readonly nullable: boolean;
  readonly insert: DeclaredWrite;
  readonly update: DeclaredWrite;
  /** What the non-null members are. */
  readonly kinds: ReadonlySet<ValueKind>;
  /** When every non-null member is a string or number literal: their values as text. */
  readonly literals: ReadonlySet<string> | undefined;
}

export type DeclaredTables = ReadonlyMap<string, ReadonlyMap<string, DeclaredColumn>>;

/** The project's compiler options (strict null checks above all), from the tsconfig.json nearest the file. */
function compilerOptions(file: string): ts.CompilerOptions {
  const configFile = ts.findConfigFile(dirname(file), ts.sys.fileExists);
  if (!configFile) throw new Error(`no tsconfig.json above ${file}`);
  const { config, error } = ts.readConfigFile(configFile, ts.sys.readFile);
  if (error) throw new Error(ts.flattenDiagnosticMessageText(error.messageText, '\n'));
  return { ...ts.parseJsonConfigFileContent(config, ts.sys, dirname(configFile)).options, noEmit: true };
}

/** Reads interface `name` of `file`: each property a table, each of its properties a column. */
export function readDeclaredTables(file: string, name: string): DeclaredTables {
  const path = resolve(file);
  const program = ts.createProgram([path], compilerOptions(path));
  const source = program.getSourceFile(path);
  if (!source) throw new Error(`${file} cannot be read`);
  // A type that does not resolve reads as any, which would pass for JSON: refuse instead.
  const [problem] = [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)];
  if (problem) throw new Error(`${file} does not compile: ${ts.flattenDiagnosticMessageText(problem.messageText, '\n')}`);
  const checker = program.getTypeChecker();
  const declaration = source.statements.find(
    (statement): statement is ts.InterfaceDeclaration | ts.TypeAliasDeclaration =>
      (ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) && statement.name.text === name,
  );
  if (!declaration) throw new Error(`${file} declares no interface ${name}`);
  const tables = new Map<string, Map<string, DeclaredColumn>>();
  for (const table of checker.getTypeAtLocation(declaration).getProperties()) {
    const columns = new Map<string, DeclaredColumn>();
    for (const column of checker.getTypeOfSymbolAtLocation(table, declaration).getProperties()) {
      columns.set(column.name, declaredColumn(checker, checker.getTypeOfSymbolAtLocation(column, declaration)));
    }
    tables.set(table.name, columns);
  }
  return tables;
}

/**
 * Kysely's ColumnType<S, I, U> (and Generated<S>) is S to a select, I to an insert and U to
 * an update; any other type is itself to all three.
 */
function asUsedBy(checker: ts.TypeChecker, type: ts.Type, use: '__select__' | '__insert__' | '__update__'): ts.Type[] {
  return (type.isUnion() ? type.types : [type]).map((member) => {
    const property = member.getProperty(use);
    return property ? checker.getTypeOfSymbol(property) : member;
  });
}

function written(checker: ts.TypeChecker, type: ts.Type, use: '__insert__' | '__update__'): DeclaredWrite {
  const members = asUsedBy(checker, type, use).flatMap(membersOf);
  const nullable = members.some((member) => member.flags & ts.TypeFlags.Null);
  return { optional: nullable || members.some((member) => member.flags & ts.TypeFlags.Undefined), nullable };
}

const membersOf = (type: ts.Type): readonly ts.Type[] => (type.isUnion() ? type.types : [type]);

function kindOf(checker: ts.TypeChecker, type: ts.Type): ValueKind {
  const flags = type.flags;
  if (flags & ts.TypeFlags.Undefined) return 'undefined';
  if (flags & (ts.TypeFlags.StringLike | ts.TypeFlags.TemplateLiteral)) return 'string';
  if (flags & ts.TypeFlags.NumberLike) return 'number';
  if (flags & ts.TypeFlags.BooleanLike) return 'boolean';
  if (flags & (ts.TypeFlags.Unknown | ts.TypeFlags.Any)) return 'json';
  if (checker.isArrayType(type)) {
    const element = kindOf(checker, checker.getTypeArguments(type as ts.TypeReference)[0]!);
    return element === 'string' ? 'string[]' : element === 'number' ? 'number[]' : 'json';
  }
  const symbol = type.getSymbol()?.getName();
  if (symbol === 'Date' || symbol === 'Buffer') return symbol;
  if (flags & ts.TypeFlags.Object) return 'json';
  return 'other';
}

/** The members written out, `true | false` as boolean and null last: `"todo" | "done" | null`. */
function described(checker: ts.TypeChecker, values: readonly ts.Type[], nullable: boolean): string {
  const booleans = values.filter((member) => member.flags & ts.TypeFlags.BooleanLiteral);
  const others = values.filter((member) => !(member.flags & ts.TypeFlags.BooleanLiteral)).map((member) => checker.typeToString(member));
  const written = booleans.length === 2 ? ['boolean'] : booleans.map((member) => checker.typeToString(member));
  return [...others, ...written, ...(nullable ? ['null'] : [])].join(' | ');
}

function declaredColumn(checker: ts.TypeChecker, type: ts.Type): DeclaredColumn {
  const members = asUsedBy(checker, type, '__select__').flatMap(membersOf);
  const values = members.filter((member) => !(member.flags & ts.TypeFlags.Null));
  const nullable = values.length < members.length;
  const literals = values.flatMap((member) => (member.isStringLiteral() || member.isNumberLiteral() ? [String(member.value)] : []));
  return {
    text: described(checker, values, nullable),
    nullable,
    insert: written(checker, type, '__insert__'),
    update: written(checker, type, '__update__'),
    kinds: new Set(values.map((member) => kindOf(checker, member))),
    literals: literals.length > 0 && literals.length === values.length ? new Set(literals) : undefined,
  };
}
