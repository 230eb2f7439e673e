// PATCH /v1/tenant/plan (the tenant's owner) and POST /v1/admin/tenants/:id/plan (the platform
// operator, at once, with a reason). The tenant is always the credential's own: no tenant id is
// read from the request of PATCH.

import { access, actorOf, platformOperatorOf } from '../../http/access.js';
import { IdParams, problems } from '../../http/common-schemas.js';
import type { ModuleRoutes } from '../../modules/module.js';
import { ChangePlanBody, OperatorChangePlanBody, PlanChangeView, planChangeView } from './plan-change.schemas.js';
import type { PlanChanges } from './plan-changes.js';

export interface PlanChangeRouteDeps {
  readonly planChanges: PlanChanges;
}

export const planChangeRoutes: ModuleRoutes<PlanChangeRouteDeps> = async (app, { planChanges }) => {
  const security = [{ bearer: [] }];

  app.patch(
    '/v1/tenant/plan',
    {
      config: { access: access.tenant('owner') },
      schema: {
        tags: ['plans', 'billing'],
        summary: "Change the tenant's plan (owner only): upgrades at once; downgrades at once when usage fits, at the period's end when this period's usage is over, refused when a level (seats, agents) is over",
        description:
          'Choosing the current plan again cancels a waiting downgrade. A refused downgrade answers 409 usage-over-plan-limits with `over`: ' +
          '[{metric, current, limit, resets_at}] and changes nothing. A retired plan answers 409 plan-retired.',
        security,
        body: ChangePlanBody,
        response: { 200: PlanChangeView, ...problems(400, 401, 403, 404, 'plan-retired', 'usage-over-plan-limits', 415, 'tenant-read-only') },
      },
    },
    async (request) => planChangeView(await planChanges.request(actorOf(request), request.body.plan)),
  );

  app.post(
    '/v1/admin/tenants/:id/plan',
    {
      config: { access: access.platformAdmin },
      schema: {
        tags: ['platform-admin', 'billing'],
        summary: "Change a tenant's plan at once, whatever its usage, with a reason; a waiting downgrade is dropped (platform admin only)",
        security,
        params: IdParams,
        body: OperatorChangePlanBody,
        response: { 200: PlanChangeView, ...problems(400, 401, 403, 404, 'plan-retired', 415) },
      },
    },
    async (request) => planChangeView(await planChanges.byOperator(platformOperatorOf(request), request.params.id, request.body.plan, request.body.reason)),
  );
};
