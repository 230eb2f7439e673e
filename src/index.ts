// Tenantry's public API: what an adopting team imports to build on it. Everything else under
// src/ is internal and may change without notice. docs/architecture.md walks through it with
// the example adopter app under examples/.

// Running Tenantry: as a plugin in your Fastify app, or as the standalone app.
export { tenantry, type TenantryPluginOptions } from './plugin.js';
export { buildApp } from './app.js';
export { startServer, type RunningServer, type ServerOptions } from './server.js';
export { createServices, type ServiceInputs, type Services } from './services.js';
export { loadConfig, type Config } from './config.js';
export { createLogger } from './logger.js';
export { systemClock, type Clock } from './clock.js';

// Modules: the one way to add tables, migrations, jobs and routes.
export {
  defineModule,
  routePlugins,
  type ErasurePolicy,
  type IdentityLookup,
  type ModuleDeclaration,
  type ModuleRoutes,
  type TenantTableDeclaration,
  type TenantryModule,
} from './modules/module.js';
export { ModuleRegistry, ModuleRegistryError, type RegisteredTenantTable } from './modules/registry.js';
export { builtInModules, deploymentModules, memoryModule, platformModules, tasksModule } from './built-in-modules.js';
export { platformModule } from './platform/platform.module.js';
export { authModule } from './auth/auth.module.js';
export { accountsModule } from './accounts/accounts.module.js';
export { tenancyModule } from './tenancy/tenancy.module.js';
export { plansModule } from './plans/plans.module.js';
export { flagsModule } from './flags/flags.module.js';
export { settingsModule } from './settings/settings.module.js';
export { meteringModule } from './metering/metering.module.js';
export { auditModule } from './audit/audit.module.js';
export { webhooksModule } from './webhooks/webhooks.module.js';
export { migrate, pendingMigrations, type MigrateOptions } from './db/migrate.js';

// The database: scoped units of work, typed over the platform's tables and a module's own.
export {
  afterCommit,
  createPool,
  createQueuePool,
  Database,
  platformTx,
  type DatabaseOptions,
  type Statement,
  type Tx,
  type Work,
} from './db/database.js';
export { openDatabase, type OpenDatabase } from './db/open-database.js';
export type {
  CreatedAt,
  DefaultedJson,
  DefaultedTimestamp,
  Json,
  NullableTimestamp,
  Role,
  Tables,
  TenantId,
  Timestamp,
  UpdatedAt,
} from './db/tables.js';
export {
  boundedPageQuery,
  keysetPage,
  keysetPageQuery,
  toPage,
  type Page,
  type PageBounds,
  type PageKeys,
  type PagePosition,
  type PageRequest,
  type SortOrder,
} from './db/keyset-page.js';
export { statementTemplate, StatementTemplate, type BoundTemplate, type TemplateParams, type TemplateShape } from './db/statement-template.js';
export { recordEffect } from './outbox/record-effect.js';
export { publishTenantEvent, type PublishOptions, type Published } from './webhooks/publish-tenant-event.js';
export type { TenantEvent, TenantEventType, TenantEventTypes } from './webhooks/tenant-event.js';

// HTTP: route access declarations, problem answers and the shared schemas.
export { access, actorOf, type Access } from './http/access.js';
export type { Actor } from './tenancy/actor.js';
export { enterTenant } from './tenancy/enter-tenant.js';
export { AppError, defineProblem, type ProblemCode, type ProblemDefinition, type ProblemKind } from './http/problems.js';
export { IdParams, problems, Text, Timestamp as TimestampSchema, Uuid } from './http/common-schemas.js';
export { FixedOrderPageQuery, PageOf, PageQuery } from './http/page.schemas.js';
export { decodeCursor, encodeCursor } from './http/page-cursor.js';

// Jobs.
export {
  defineServiceJob,
  defineTenantJob,
  type JobDefinition,
  type JobDependencies,
  type JobRun,
  type ServiceJob,
  type TenantJob,
} from './jobs/define-job.js';
export { InvalidJobPayloadError } from './jobs/job-envelope.js';
export { JobTenantError, UnknownJobError, type EnqueueOptions, type Jobs, type JobSchedule } from './jobs/jobs.js';

// Flags through OpenFeature, and the plan catalog.
export { TenantryFlagProvider } from './flags/openfeature-provider.js';
export type { FlagContext, FlagEvaluation, FlagSource } from './flags/evaluate-flag.js';
export { Plans } from './plans/plans.js';
export { UnknownPlanError, type Plan } from './plans/plan.js';
