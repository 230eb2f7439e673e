// The modules Tenantry ships. The platform modules are the product; agent memory is a module
// on them that every deployment runs; the task domain is a sample a deployment may leave out
// (TENANTRY_TASK_DOMAIN=off, or by not listing it).

import { accountsModule } from './accounts/accounts.module.js';
import { auditModule } from './audit/audit.module.js';
import { billingModule } from './billing/billing.module.js';
import { authModule } from './auth/auth.module.js';
import { emailModule } from './email/email.module.js';
import { tasksModule } from './domain/tasks/tasks.module.js';
import { flagsModule } from './flags/flags.module.js';
import { memoryModule } from './memory/memory.module.js';
import { meteringModule } from './metering/metering.module.js';
import type { Config } from './config.js';
import type { TenantryModule } from './modules/module.js';
import { plansModule } from './plans/plans.module.js';
import { privacyModule } from './privacy/privacy.module.js';
import { platformModule } from './platform/platform.module.js';
import { realtimeModule } from './realtime/realtime.module.js';
import { settingsModule } from './settings/settings.module.js';
import { tenancyModule } from './tenancy/tenancy.module.js';
import { webhooksModule } from './webhooks/webhooks.module.js';

export { memoryModule, tasksModule };

/** Everything but the sample domain: what an adopter builds on. */
export const platformModules: readonly TenantryModule[] = [
  platformModule,
  authModule,
  accountsModule,
  tenancyModule,
  plansModule,
  flagsModule,
  settingsModule,
  meteringModule,
  auditModule,
  webhooksModule,
  billingModule,
  emailModule,
  privacyModule,
  realtimeModule,
];

/** The platform, the sample task domain and agent memory: what `tenantry start` runs by default. */
export const builtInModules: readonly TenantryModule[] = [...platformModules, tasksModule, memoryModule];

/** The modules a deployment of the `tenantry` command runs, by its configuration. */
export function deploymentModules(config: Pick<Config, 'taskDomain'>): readonly TenantryModule[] {
  return config.taskDomain ? builtInModules : [...platformModules, memoryModule];
}
