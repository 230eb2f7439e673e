// /v1/admin/flags…: the platform operator defines flags, sets plan defaults and any tenant's
// overrides. Operator credential only; every change goes through the audited service role.
// Like the whole admin API: PUT answers 200 with the resource it set, DELETE 204 with no body.

import { Type } from 'typebox';
import { access, platformOperatorOf } from '../http/access.js';
import { problems, Uuid } from '../http/common-schemas.js';
import type { ModuleRoutes } from '../modules/module.js';
import type { PlatformCatalog } from '../plans/platform-catalog.js';
import type { FlagDefinition } from './flag.js';
import type { FlagAdministration } from './flag-administration.js';
import { FlagDefinitionBody, FlagDefinitionView, FlagKey, FlagKeyParams, FlagValue, SetValueBody } from './flags.schemas.js';

const PlanParams = Type.Object({ key: FlagKey, plan: Type.String({ pattern: '^[a-z][a-z0-9_]{1,39}$' }) }, { additionalProperties: false });
const TenantParams = Type.Object({ key: FlagKey, tenantId: Uuid }, { additionalProperties: false });
const TenantOverrideView = Type.Object({ key: Type.String(), tenantId: Uuid, value: FlagValue });

export interface AdminFlagsRouteDeps {
  readonly platformCatalog: PlatformCatalog;
  readonly administration: FlagAdministration;
}

export const adminFlagsRoutes: ModuleRoutes<AdminFlagsRouteDeps> = async (app, { platformCatalog, administration }) => {
  const config = { access: access.platformAdmin };
  const security = [{ bearer: [] }];
  const tags = ['platform-admin'];

  async function definitionView(flag: FlagDefinition) {
    const snapshot = await platformCatalog.snapshot();
    const planDefaults: Record<string, unknown> = {};
    for (const plan of snapshot.plans) {
      const value = snapshot.planDefaults.get(plan.key)?.get(flag.key);
      if (value !== undefined) planDefaults[plan.key] = value;
    }
    return {
      key: flag.key,
      kind: flag.kind,
      description: flag.description,
      defaultValue: flag.defaultValue,
      rolloutPercentage: flag.rolloutBasisPoints === null ? null : flag.rolloutBasisPoints / 100,
      bucketBy: flag.bucketBy,
      tenantEditable: flag.tenantEditable,
      planDefaults,
    };
  }

  async function currentDefinition(key: string) {
    const flag = (await platformCatalog.snapshot()).flagByKey.get(key);
    return flag ? definitionView(flag) : undefined;
  }

  app.get(
    '/v1/admin/flags',
    {
      config,
      schema: { tags, security, summary: 'Every flag definition with its plan defaults', response: { 200: Type.Object({ data: Type.Array(FlagDefinitionView) }), ...problems(401, 403) } },
    },
    async () => {
      const snapshot = await platformCatalog.snapshot();
      return { data: await Promise.all(snapshot.flags.map(definitionView)) };
    },
  );

  app.put(
    '/v1/admin/flags/:key',
    {
      config,
      schema: {
        tags,
        security,
        summary: 'Create a flag or replace its definition (its kind cannot change)',
        params: FlagKeyParams,
        body: FlagDefinitionBody,
        response: { 200: FlagDefinitionView, ...problems(400, 401, 403, 409, 415) },
      },
    },
    async (request) => {
      const flag = await administration.define(platformOperatorOf(request), request.params.key, request.body);
      return definitionView(flag);
    },
  );

  app.delete(
    '/v1/admin/flags/:key',
    {
      config,
      schema: { tags, security, summary: 'Delete a flag, its plan defaults and every tenant override of it', params: FlagKeyParams, response: { 204: Type.Null(), ...problems(400, 401, 403, 404) } },
    },
    async (request, reply) => {
      await administration.remove(platformOperatorOf(request), request.params.key);
      return reply.code(204).send(null);
    },
  );

  app.put(
    '/v1/admin/flags/:key/plans/:plan',
    {
      config,
      schema: { tags, security, summary: "Set a plan's default value of a flag", params: PlanParams, body: SetValueBody, response: { 200: FlagDefinitionView, ...problems(400, 401, 403, 404, 415) } },
    },
    async (request) => {
      await administration.setPlanDefault(platformOperatorOf(request), request.params.key, request.params.plan, request.body.value);
      return (await currentDefinition(request.params.key))!;
    },
  );

  app.delete(
    '/v1/admin/flags/:key/plans/:plan',
    {
      config,
      schema: { tags, security, summary: "Remove a plan's default value of a flag", params: PlanParams, response: { 204: Type.Null(), ...problems(400, 401, 403, 404) } },
    },
    async (request, reply) => {
      await administration.removePlanDefault(platformOperatorOf(request), request.params.key, request.params.plan);
      return reply.code(204).send(null);
    },
  );

  app.put(
    '/v1/admin/flags/:key/tenants/:tenantId',
    {
      config,
      schema: { tags, security, summary: "Set one tenant's override of any flag", params: TenantParams, body: SetValueBody, response: { 200: TenantOverrideView, ...problems(400, 401, 403, 404, 415) } },
    },
    async (request) => {
      const { key, tenantId } = request.params;
      await administration.setTenantOverride(platformOperatorOf(request), key, tenantId, request.body.value);
      return { key, tenantId, value: request.body.value };
    },
  );

  app.delete(
    '/v1/admin/flags/:key/tenants/:tenantId',
    {
      config,
      schema: { tags, security, summary: "Remove one tenant's override of a flag", params: TenantParams, response: { 204: Type.Null(), ...problems(400, 401, 403, 404) } },
    },
    async (request, reply) => {
      await administration.removeTenantOverride(platformOperatorOf(request), request.params.key, request.params.tenantId);
      return reply.code(204).send(null);
    },
  );
};
