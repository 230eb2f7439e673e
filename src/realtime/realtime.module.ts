// Realtime as a module: the WebSocket route, the tables that sequence and retain each tenant's
// events, and the presence channel. Other modules declare their own channels and publish with
// publishRealtimeEvent() in the transaction that makes the change.

import { fileURLToPath } from 'node:url';
import { defineModule } from '../modules/module.js';
import { plansModule } from '../plans/plans.module.js';
import { tenancyModule } from '../tenancy/tenancy.module.js';
import { realtimeRoutes, type RealtimeRouteDeps } from './realtime.routes.js';

export const realtimeModule = defineModule({
  name: 'realtime',
  dependsOn: [tenancyModule, plansModule],
  migrations: fileURLToPath(new URL('./migrations', import.meta.url)),
  // Bookkeeping, not the tenant's data: the events only point at rows the tenant exports anyway.
  tenantTables: [
    { name: 'realtime_sequences', exported: false },
    { name: 'realtime_events', exported: false },
  ],
  realtimeChannels: [{ name: 'presence', minRole: 'viewer' }],
  compose: ({ realtime }): RealtimeRouteDeps => ({ realtime }),
  routes: realtimeRoutes,
});
