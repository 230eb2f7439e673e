// Tenantry as a library: build the app from services, and evaluate Tenantry flags through
// OpenFeature with the tenant taken from the request context.

export { buildApp } from './app.js';
export { loadConfig, type Config } from './config.js';
export { createServices, type Services } from './services.js';
export { TenantryFlagProvider } from './flags/openfeature-provider.js';
export type { FlagContext, FlagEvaluation, FlagSource } from './flags/evaluate-flag.js';
export { Plans } from './plans/plans.js';
export { UnknownPlanError, type Plan } from './plans/plan.js';
