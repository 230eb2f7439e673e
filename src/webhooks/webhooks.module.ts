// Outbound tenant webhooks as a module: endpoints with sealed signing secrets, events any
// module publishes in its own transaction (publishTenantEvent), and a durable delivery job.
//
// The sealed secrets are `secret` columns: never exported, never logged. Nothing here is
// personal data: URLs and event payloads describe the tenant's account, not people.

import { fileURLToPath } from 'node:url';
import { auditModule } from '../audit/audit.module.js';
import { defineModule, routePlugins } from '../modules/module.js';
import { settingsModule } from '../settings/settings.module.js';
import { tenancyModule } from '../tenancy/tenancy.module.js';
import { deliverWebhookJob } from './deliver-webhook-job.js';
import { deliveryRoutes, type DeliveryRouteDeps } from './deliveries.routes.js';
import { endpointRoutes, type EndpointRouteDeps } from './endpoints.routes.js';
import { WebhookDeliveries } from './manage-deliveries.js';
import { WebhookEndpoints } from './manage-endpoints.js';
import { webhookRuntime } from './webhook-runtime.js';
import type { WebhookTables } from './webhook-tables.js';

interface WebhooksModuleDeps extends EndpointRouteDeps, DeliveryRouteDeps {}

export const webhooksModule = defineModule({
  name: 'webhooks',
  dependsOn: [tenancyModule, settingsModule, auditModule],
  migrations: fileURLToPath(new URL('./migrations', import.meta.url)),
  tenantTables: [
    { name: 'webhook_endpoints', secret: ['secret_ciphertext', 'previous_secret_ciphertext'] },
    { name: 'webhook_events' },
    { name: 'webhook_deliveries' },
    { name: 'webhook_attempts' },
  ],
  jobs: [deliverWebhookJob],
  compose: ({ db: platformDb, clock, config }): WebhooksModuleDeps => {
    const db = platformDb.withTables<WebhookTables>();
    const runtime = webhookRuntime(config);
    return {
      endpoints: new WebhookEndpoints(db, clock, config.webhooks, runtime.secrets),
      deliveries: new WebhookDeliveries(db, clock),
    };
  },
  routes: routePlugins<WebhooksModuleDeps>(endpointRoutes, deliveryRoutes),
});
