// Agent memory as a module, declared exactly as an adopter declares one: its own migrations
// folder and row types, its tenant tables with their export and erasure policy, a tenant job,
// its composition root and its routes.
//
// Memory content is the tenant's data about people (what an agent learned from and about its
// users), so it is `personal`, not `secret`: an export must hand it back, and erasure must
// remove it. Erasure pseudonymises content (the column is NOT NULL: the row, its counts and
// history stay, the words go; the search vector is generated from it and follows) and empties
// tags and metadata, which are as free-form. Nothing here is a credential, so nothing is
// `secret`. The settings table holds no personal data.

import { fileURLToPath } from 'node:url';
import { meteringModule } from '../metering/metering.module.js';
import { defineModule, routePlugins } from '../modules/module.js';
import { plansModule } from '../plans/plans.module.js';
import { tenancyModule } from '../tenancy/tenancy.module.js';
import { agentKeyRoutes, type AgentKeyRouteDeps } from './agent-keys.routes.js';
import { agentRoutes, type AgentRouteDeps } from './agents.routes.js';
import { AgentKeyManagement } from './manage-agent-keys.js';
import { AgentManagement } from './manage-agents.js';
import { MemoryManagement } from './manage-memories.js';
import { memoryAdminRoutes, type MemoryAdminRouteDeps } from './memory-admin.routes.js';
import { MemoryRecall } from './memory-recall.js';
import { MemorySettingsManagement } from './memory-settings.js';
import { MemoryStats } from './memory-stats.js';
import type { MemoryTables } from './memory-tables.js';
import { MemoryUsage } from './memory-usage.js';
import { memoryRoutes, type MemoryRouteDeps } from './memories.routes.js';
import { recallRoutes, type RecallRouteDeps } from './recall.routes.js';
import { RecallReinforcement } from './recall-reinforcement.js';
import { rezoneEveryTenantJob, rezoneEveryTenantSchedule, rezoneMemoriesJob } from './rezone-memories-job.js';

interface MemoryModuleDeps extends AgentRouteDeps, AgentKeyRouteDeps, MemoryRouteDeps, RecallRouteDeps, MemoryAdminRouteDeps {}

export const memoryModule = defineModule({
  name: 'memory',
  dependsOn: [tenancyModule, plansModule, meteringModule],
  migrations: fileURLToPath(new URL('./migrations', import.meta.url)),
  tenantTables: [
    { name: 'agents', personal: { metadata: 'null' } },
    { name: 'memories', personal: { content: 'pseudonymise', tags: 'null', metadata: 'null' } },
    { name: 'memory_versions', personal: { content: 'pseudonymise', tags: 'null', metadata: 'null' } },
    { name: 'memory_settings' },
  ],
  jobs: [rezoneMemoriesJob, rezoneEveryTenantJob],
  schedules: [rezoneEveryTenantSchedule],
  // An agent key's connection sees only its own agent's memories (events carry the agent).
  realtimeChannels: [{ name: 'memories', minRole: 'viewer', agentScoped: true }],
  compose: ({ db: platformDb, clock, logger, metering, plans, jobs }): MemoryModuleDeps => {
    const db = platformDb.withTables<MemoryTables>();
    const usage = new MemoryUsage(metering.actions, metering.quotas, metering.recorder);
    return {
      db,
      jobs,
      agents: new AgentManagement(db, clock, usage),
      agentKeys: new AgentKeyManagement(db, clock),
      memories: new MemoryManagement(db, clock, usage),
      recall: new MemoryRecall(db, clock, new RecallReinforcement(db, clock, logger)),
      stats: new MemoryStats(db, plans, clock),
      settings: new MemorySettingsManagement(db, clock),
    };
  },
  routes: routePlugins<MemoryModuleDeps>(agentRoutes, agentKeyRoutes, memoryRoutes, recallRoutes, memoryAdminRoutes),
});
