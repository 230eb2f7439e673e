// The registered modules, checked once and read by everything that used to keep a list:
// the query-layer filter (tenantTables), identity reads, the migrator (dependency order),
// tenant deletion and purge (tenantTables, ordered by foreign keys in deletion-order.ts),
// the job worker (jobs, schedules) and the app (routes).

import type { JobDefinition } from '../jobs/define-job.js';
import type { JobSchedule } from '../jobs/jobs.js';
import { PROBLEMS, type ProblemDefinition } from '../http/problems.js';
import type { IdentityLookup, PersonTableDeclaration, RealtimeChannelDeclaration, TenantTableDeclaration, TenantryModule } from './module.js';

export class ModuleRegistryError extends Error {
  override name = 'ModuleRegistryError';
}

export interface RegisteredTenantTable extends TenantTableDeclaration {
  /** The module that declared it. */
  readonly module: string;
}

export class ModuleRegistry {
  /** Every module, each after the modules it depends on; otherwise in the order given. */
  readonly modules: readonly TenantryModule[];
  /** Names of every registered tenant table: what the tenant filter confines. */
  readonly tenantTables: ReadonlySet<string>;
  readonly identityLookups: readonly IdentityLookup[];
  /** Every module's global tables about a person: what erasure covers beside the tenant tables. */
  readonly personTables: readonly (PersonTableDeclaration & { readonly module: string })[];
  readonly jobs: readonly JobDefinition[];
  readonly schedules: readonly JobSchedule[];
  /** Every module's realtime channels, by name: what a connection may subscribe to. */
  readonly realtimeChannels: ReadonlyMap<string, RealtimeChannelDeclaration>;
  /** Every module's own problems, by code: none takes a platform code or another module's. */
  readonly problems: ReadonlyMap<string, ProblemDefinition & { readonly module: string }>;
  readonly #tables: ReadonlyMap<string, RegisteredTenantTable>;

  constructor(modules: readonly TenantryModule[]) {
    this.modules = dependencyOrder(modules);
    const tables = new Map<string, RegisteredTenantTable>();
    for (const module of this.modules) {
      for (const table of module.tenantTables ?? []) {
        const taken = tables.get(table.name);
        if (taken) throw new ModuleRegistryError(`tenant table "${table.name}" is declared by both ${taken.module} and ${module.name}`);
        tables.set(table.name, Object.freeze({ ...table, module: module.name }));
      }
    }
    this.#tables = tables;
    this.tenantTables = new Set(tables.keys());
    this.identityLookups = this.modules.flatMap((module) => module.identityLookups ?? []);
    this.personTables = this.modules.flatMap((module) => (module.personTables ?? []).map((table) => Object.freeze({ ...table, module: module.name })));
    for (const table of this.personTables) {
      if (tables.has(table.name) || this.personTables.filter((other) => other.name === table.name).length > 1) {
        throw new ModuleRegistryError(`person table "${table.name}" is declared twice (or is also a tenant table)`);
      }
    }
    for (const lookup of this.identityLookups) {
      if (!tables.has(lookup.table)) throw new ModuleRegistryError(`identity lookup on "${lookup.table}", which no module declares as a tenant table`);
    }
    this.jobs = this.modules.flatMap((module) => module.jobs ?? []);
    const jobNames = new Set<string>();
    for (const job of this.jobs) {
      if (jobNames.has(job.name)) throw new ModuleRegistryError(`job "${job.name}" is declared twice`);
      jobNames.add(job.name);
    }
    this.schedules = this.modules.flatMap((module) => module.schedules ?? []);
    for (const schedule of this.schedules) {
      if (!this.jobs.includes(schedule.job)) throw new ModuleRegistryError(`schedule "${schedule.cron}" names job "${schedule.job.name}", which no module declares`);
    }
    const channels = new Map<string, RealtimeChannelDeclaration>();
    for (const module of this.modules) {
      for (const channel of module.realtimeChannels ?? []) {
        if (!/^[a-z][a-z0-9_]{0,39}$/.test(channel.name)) throw new ModuleRegistryError(`realtime channel "${channel.name}" of ${module.name} must be lowercase letters, digits or underscores`);
        if (channels.has(channel.name)) throw new ModuleRegistryError(`realtime channel "${channel.name}" is declared twice`);
        channels.set(channel.name, Object.freeze({ ...channel }));
      }
    }
    this.realtimeChannels = channels;
    const problems = new Map<string, ProblemDefinition & { readonly module: string }>();
    for (const module of this.modules) {
      for (const problem of module.problems ?? []) {
        if (Object.hasOwn(PROBLEMS, problem.code)) throw new ModuleRegistryError(`problem "${problem.code}" of ${module.name} is a platform problem code`);
        const taken = problems.get(problem.code);
        if (taken) throw new ModuleRegistryError(`problem "${problem.code}" is declared by both ${taken.module} and ${module.name}`);
        problems.set(problem.code, Object.freeze({ ...problem, module: module.name }));
      }
    }
    this.problems = problems;
  }

  /** Every registered tenant table's declaration, in module order. */
  tenantTableDeclarations(): RegisteredTenantTable[] {
    return [...this.#tables.values()];
  }
}

/** Depth-first over the given order, dependencies first; a missing dependency or a cycle is refused. */
function dependencyOrder(modules: readonly TenantryModule[]): TenantryModule[] {
  const byName = new Map<string, TenantryModule>();
  for (const module of modules) {
    if (byName.has(module.name)) throw new ModuleRegistryError(`module "${module.name}" is registered twice`);
    byName.set(module.name, module);
  }
  const ordered: TenantryModule[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (module: TenantryModule, path: readonly string[]) => {
    const seen = state.get(module.name);
    if (seen === 'done') return;
    if (seen === 'visiting') throw new ModuleRegistryError(`modules depend on each other in a cycle: ${[...path, module.name].join(' → ')}`);
    state.set(module.name, 'visiting');
    for (const dependency of module.dependsOn ?? []) {
      if (byName.get(dependency.name) !== dependency) {
        throw new ModuleRegistryError(`module "${module.name}" depends on "${dependency.name}", which is not registered`);
      }
      visit(dependency, [...path, module.name]);
    }
    state.set(module.name, 'done');
    ordered.push(module);
  };
  for (const module of modules) visit(module, []);
  return ordered;
}
