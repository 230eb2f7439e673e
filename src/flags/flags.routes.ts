// /v1/flags: every flag evaluated for the tenant with the level its value came from (any
// member); tenant admins set or remove their own value of tenant-editable flags.

import { Type } from 'typebox';
import { access, actorOf } from '../http/access.js';
import { problems } from '../http/common-schemas.js';
import type { ModuleRoutes } from '../modules/module.js';
import type { PlatformCatalog } from '../plans/platform-catalog.js';
import type { Actor } from '../tenancy/actor.js';
import { FlagEvaluationView, FlagKeyParams, SetValueBody } from './flags.schemas.js';
import type { Flags } from './flags.js';
import type { OverrideManagement } from './manage-overrides.js';

export interface FlagsRouteDeps {
  readonly platformCatalog: PlatformCatalog;
  readonly flags: Flags;
  readonly overrides: OverrideManagement;
}

export const flagsRoutes: ModuleRoutes<FlagsRouteDeps> = async (app, { platformCatalog, flags, overrides }) => {
  const security = [{ bearer: [] }];

  async function evaluated(actor: Actor, key?: string) {
    const snapshot = await platformCatalog.snapshot();
    const all = await flags.evaluateAll(actor);
    return all
      .filter((evaluation) => key === undefined || evaluation.key === key)
      .map((evaluation) => ({ ...evaluation, tenantEditable: snapshot.flagByKey.get(evaluation.key)?.tenantEditable ?? false }));
  }

  app.get(
    '/v1/flags',
    {
      config: { access: access.tenant('viewer') },
      schema: {
        tags: ['flags'],
        summary: 'Every flag evaluated for this tenant, with the level each value came from',
        security,
        response: { 200: Type.Object({ data: Type.Array(FlagEvaluationView) }), ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => ({ data: await evaluated(actorOf(request)) }),
  );

  app.put(
    '/v1/flags/:key',
    {
      config: { access: access.tenant('admin') },
      schema: {
        tags: ['flags'],
        summary: "Set this tenant's own value of a tenant-editable flag (owner or admin)",
        security,
        params: FlagKeyParams,
        body: SetValueBody,
        response: { 200: FlagEvaluationView, ...problems(400, 401, 403, 404, 415) },
      },
    },
    async (request) => {
      const actor = actorOf(request);
      await overrides.set(actor, request.params.key, request.body.value);
      return (await evaluated(actor, request.params.key))[0]!;
    },
  );

  app.delete(
    '/v1/flags/:key',
    {
      config: { access: access.tenant('admin') },
      schema: {
        tags: ['flags'],
        summary: "Remove this tenant's own value of a tenant-editable flag (owner or admin)",
        security,
        params: FlagKeyParams,
        response: { 200: FlagEvaluationView, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const actor = actorOf(request);
      await overrides.remove(actor, request.params.key);
      return (await evaluated(actor, request.params.key))[0]!;
    },
  );
};
