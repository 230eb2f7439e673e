// A module's routes receive what its `compose` built, and only that: compose runs once per
// app, its result is the routes' options, and a declaration whose routes want something
// compose does not build does not compile (each @ts-expect-error below fails the typecheck
// if it ever does). A module's own problems are answered and documented like the platform's.

import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/clock.js';
import { access } from '../../src/http/access.js';
import { problems } from '../../src/http/common-schemas.js';
import { AppError, defineProblem } from '../../src/http/problems.js';
import { defineModule, routePlugins, type ModuleRoutes } from '../../src/modules/module.js';
import { platformModule } from '../../src/platform/platform.module.js';
import { TEST_MODULES } from '../support/modules.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

interface ProbeDeps {
  readonly greeting: string;
  readonly clock: Clock;
}

let composed = 0;

const probeJammed = defineProblem({ code: 'probe-jammed', status: 423, title: 'The probe is jammed', type: 'https://example.com/problems/probe-jammed' });

const probeRoutes: ModuleRoutes<ProbeDeps> = async (app, options) => {
  app.get(
    '/v1/probe/options',
    {
      config: { access: access.public },
      schema: { hide: true, response: { 200: Type.Object({ keys: Type.Array(Type.String()), greeting: Type.String() }) } },
    },
    async () => ({ keys: Object.keys(options).sort(), greeting: options.greeting }),
  );
  app.post(
    '/v1/probe/jam',
    { config: { access: access.public }, schema: { summary: 'Jams the probe', response: { 204: Type.Null(), ...problems(probeJammed) } } },
    async () => {
      throw new AppError(probeJammed, 'jammed by the test', { jammed_at: 'now' });
    },
  );
};

const probeModule = defineModule({
  name: 'probe',
  dependsOn: [platformModule],
  problems: [probeJammed],
  compose: (services): ProbeDeps => {
    composed += 1;
    return { greeting: 'composed', clock: services.clock };
  },
  routes: probeRoutes,
});

let testApp: TestApp;

beforeAll(async () => {
  testApp = await startTestApp({}, { modules: [...TEST_MODULES, probeModule] });
});

afterAll(async () => {
  await testApp.close();
});

describe("a module's routes", () => {
  it('get exactly what compose returned, composed once per app', async () => {
    for (let i = 0; i < 2; i++) {
      const response = await testApp.app.inject({ method: 'GET', url: '/v1/probe/options' });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ keys: ['clock', 'greeting'], greeting: 'composed' });
    }
    expect(composed).toBe(1);
  });
});

describe("a module's problem", () => {
  it('is answered as problem+json with its own code, status, title and type', async () => {
    const response = await testApp.app.inject({ method: 'POST', url: '/v1/probe/jam' });
    expect(response.statusCode).toBe(423);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json()).toMatchObject({
      type: 'https://example.com/problems/probe-jammed',
      title: 'The probe is jammed',
      status: 423,
      detail: 'jammed by the test',
      jammed_at: 'now',
      instance: '/v1/probe/jam',
    });
  });

  it("is listed among the route's documented answers", async () => {
    const document = (await testApp.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(document.paths['/v1/probe/jam'].post.responses['423'].description).toContain('`probe-jammed`');
  });
});

describe('a module declaration', () => {
  const usesCount: ModuleRoutes<{ readonly count: number }> = async () => {};
  const usesLabel: ModuleRoutes<{ readonly label: string }> = async () => {};

  it('does not compile when its routes want what compose does not build', () => {
    // @ts-expect-error compose builds no count
    defineModule({ name: 'wrong_deps', compose: () => ({ label: 'x' }), routes: usesCount });
    expect(() => defineModule({ name: 'right_deps', compose: () => ({ count: 1, label: 'x' }), routes: usesCount })).not.toThrow();
  });

  it('declares compose and routes together, or neither', () => {
    // @ts-expect-error routes without their composition root
    defineModule({ name: 'no_compose', routes: usesCount });
    // @ts-expect-error a composition root with no routes to hand it to
    defineModule({ name: 'no_routes', compose: () => ({ count: 1 }) });
    expect(defineModule({ name: 'tables_only' }).registerRoutes).toBeUndefined();
  });

  it("joins route plugins under one Deps that covers each plugin's", () => {
    // @ts-expect-error the module's Deps lacks the label the second plugin uses
    routePlugins<{ readonly count: number }>(usesCount, usesLabel);
    expect(typeof routePlugins<{ readonly count: number; readonly label: string }>(usesCount, usesLabel)).toBe('function');
  });
});
