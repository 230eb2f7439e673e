// The registry refuses a module set it could not apply safely, and orders what it accepts:
// dependencies first, otherwise as given.

import { Type } from 'typebox';
import { describe, expect, it } from 'vitest';
import { builtInModules, platformModules } from '../../src/built-in-modules.js';
import { defineServiceJob } from '../../src/jobs/define-job.js';
import { defineProblem } from '../../src/http/problems.js';
import { defineModule, type TenantryModule } from '../../src/modules/module.js';
import { ModuleRegistry, ModuleRegistryError } from '../../src/modules/registry.js';
import { platformModule } from '../../src/platform/platform.module.js';

const noop = defineServiceJob({ name: 'noop-job', payload: Type.Object({}), handler: async () => {} });

function names(modules: readonly TenantryModule[]): string[] {
  return modules.map((module) => module.name);
}

describe('module order', () => {
  it('puts every module after the modules it depends on, whatever order they are listed in', () => {
    const ordered = new ModuleRegistry([...builtInModules].reverse()).modules;
    for (const module of ordered) {
      for (const dependency of module.dependsOn ?? []) {
        expect(names(ordered).indexOf(dependency.name), `${module.name} after ${dependency.name}`).toBeLessThan(names(ordered).indexOf(module.name));
      }
    }
    expect(names(ordered)[0]).toBe('platform');
  });

  it('keeps the given order where dependencies allow', () => {
    const a = defineModule({ name: 'a_mod', dependsOn: [platformModule] });
    const b = defineModule({ name: 'b_mod', dependsOn: [platformModule] });
    expect(names(new ModuleRegistry([platformModule, b, a]).modules)).toEqual(['platform', 'b_mod', 'a_mod']);
  });

  it('leaves the task domain out of the platform set', () => {
    const registry = new ModuleRegistry(platformModules);
    expect(names(registry.modules)).not.toContain('tasks');
    expect(registry.tenantTables.has('tasks')).toBe(false);
    expect(new ModuleRegistry(builtInModules).tenantTables.has('tasks')).toBe(true);
  });
});

describe('refused module sets', () => {
  it('a dependency that is not registered', () => {
    const invoices = defineModule({ name: 'invoices', dependsOn: [platformModule] });
    expect(() => new ModuleRegistry([invoices])).toThrow(/depends on "platform", which is not registered/);
  });

  it('two modules of one name', () => {
    expect(() => new ModuleRegistry([platformModule, defineModule({ name: 'platform' })])).toThrow(ModuleRegistryError);
  });

  it('a tenant table two modules declare', () => {
    const thief = defineModule({ name: 'thief', dependsOn: [platformModule], tenantTables: [{ name: 'outbox' }] });
    expect(() => new ModuleRegistry([platformModule, thief])).toThrow(/"outbox" is declared by both platform and thief/);
  });

  it('a job name taken twice, and a schedule for no job', () => {
    const one = defineModule({ name: 'one_mod', jobs: [noop] });
    const two = defineModule({ name: 'two_mod', jobs: [noop] });
    expect(() => new ModuleRegistry([one, two])).toThrow(/job "noop-job" is declared twice/);
    const nothing = defineServiceJob({ name: 'nothing', payload: Type.Object({}), handler: async () => {} });
    const orphan = defineModule({ name: 'orphan', schedules: [{ job: nothing, cron: '* * * * *' }] });
    expect(() => new ModuleRegistry([orphan])).toThrow(/names job "nothing"/);
  });

  it('an identity lookup on a table no module declares', () => {
    const lookup = defineModule({ name: 'lookup', identityLookups: [{ table: 'nowhere', column: 'id', by: 'userId' }] });
    expect(() => new ModuleRegistry([lookup])).toThrow(/identity lookup on "nowhere"/);
  });

  it('a cycle', () => {
    const a: { -readonly [K in keyof TenantryModule]: TenantryModule[K] } = { name: 'cyc_a' };
    const b = defineModule({ name: 'cyc_b', dependsOn: [a] });
    a.dependsOn = [b];
    expect(() => new ModuleRegistry([a, b])).toThrow(/cycle: cyc_a → cyc_b → cyc_a/);
  });

  it('a name that cannot name a migrations table', () => {
    expect(() => defineModule({ name: 'Invoices; DROP' })).toThrow(/lowercase/);
  });
});

describe("a module's problems", () => {
  const locked = defineProblem({ code: 'probe-locked', status: 409, title: 'The probe is locked', type: 'https://example.com/problems/probe-locked' });

  it('are registered by code with their module', () => {
    const probe = defineModule({ name: 'probe_problems', dependsOn: [platformModule], problems: [locked] });
    expect(new ModuleRegistry([platformModule, probe]).problems.get('probe-locked')).toMatchObject({ status: 409, module: 'probe_problems' });
  });

  it('may not take a platform code, or a code another module declared', () => {
    const platformCode = defineProblem({ code: 'not-found', status: 404, title: 'Mine', type: 'https://example.com/problems/not-found' });
    const taker = defineModule({ name: 'taker', dependsOn: [platformModule], problems: [platformCode] });
    expect(() => new ModuleRegistry([platformModule, taker])).toThrow(/"not-found" of taker is a platform problem code/);
    const first = defineModule({ name: 'first_mod', dependsOn: [platformModule], problems: [locked] });
    const second = defineModule({ name: 'second_mod', dependsOn: [platformModule], problems: [{ ...locked, status: 423 }] });
    expect(() => new ModuleRegistry([platformModule, first, second])).toThrow(/"probe-locked" is declared by both first_mod and second_mod/);
  });

  it('are defined with a code of hyphenated lowercase words, an error status, a title and an absolute type URI', () => {
    const good = { code: 'probe-locked', status: 409, title: 'Locked', type: 'https://example.com/p' };
    expect(() => defineProblem({ ...good, code: 'Probe_Locked' })).toThrow(/lowercase words joined by hyphens/);
    expect(() => defineProblem({ ...good, status: 302 })).toThrow(/4xx or 5xx status/);
    expect(() => defineProblem({ ...good, title: ' ' })).toThrow(/needs a title/);
    expect(() => defineProblem({ ...good, type: 'problems/locked' })).toThrow(/absolute type URI/);
    expect(Object.isFrozen(defineProblem(good))).toBe(true);
  });
});
