// What a module is: the one way a feature (built in or an adopter's) brings tables,
// migrations, jobs and routes to Tenantry. A module only declares; the registry
// (registry.ts) checks the set and everything else reads it: the migrator, the query
// layer's tenant filter, tenant deletion and purge, the job worker and the app's routes.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { IdentityScope } from '../db/database.js';
import type { JobDefinition } from '../jobs/define-job.js';
import type { JobSchedule } from '../jobs/jobs.js';
import type { Services } from '../services.js';
import type { Role } from '../db/tables.js';
import type { ProblemDefinition } from '../http/problems.js';

/**
 * What erasure does to a column holding personal data: empty it, replace it with a stable
 * pseudonym, or (for a row that is nothing but the person's link, a membership) delete the row.
 */
export type ErasurePolicy = 'null' | 'pseudonymise' | 'delete';

/**
 * How a column names a person, so that erasure finds that person's rows: their user id (a
 * uuid), their email (compared case-insensitively), or an actor label `user:<id>`.
 */
export type PersonReference = 'user_id' | 'email' | 'actor';

/**
 * A table that holds tenant data. Its migration creates it with `tenant_id` first and a
 * `deleted_at` column, and calls `tenantry.tenant_table('name')`: RLS on and forced, one
 * policy per command, the app and service grants. Declaring it here puts the query-layer
 * filter on it and makes tenant deletion, purge and export cover it.
 */
export interface TenantTableDeclaration {
  readonly name: string;
  /** Columns never exported, never logged: hashes of tokens and keys. */
  readonly secret?: readonly string[];
  /** Columns holding personal data, and what erasure does to each. */
  readonly personal?: Readonly<Record<string, ErasurePolicy>>;
  /** False for bookkeeping no tenant would want back (queues, the outbox); exported otherwise. */
  readonly exported?: boolean;
  /**
   * Columns that name a person, and how. Erasing that person applies the column's `personal`
   * policy where it names them; every other personal column is erased where its value
   * mentions them (their email, id or name).
   */
  readonly identifies?: Readonly<Record<string, PersonReference>>;
}

/**
 * A global table (no `tenant_id`: a person's, like users and sessions) whose rows are about a
 * person. Erasing that person deletes their rows in it; declaring it here is what makes
 * erasure (and, with `tenantColumn`, tenant erasure and purge) cover it.
 */
export interface PersonTableDeclaration {
  readonly name: string;
  /** Columns that name a person, and how: a row naming the erased person is deleted. */
  readonly identifies: Readonly<Record<string, PersonReference>>;
  /** Free-text columns: a row whose value mentions the person (their email or id, their name as a word) is deleted too. */
  readonly mentions?: readonly string[];
  /**
   * The column naming the tenant a row was made for, if any: erasing a departed member deletes
   * only their rows of that tenant, and erasing or purging a tenant deletes all its rows.
   * Without it a row is the person's alone, erased only when the person erases themselves.
   */
  readonly tenantColumn?: string;
}

/**
 * A read allowed before a tenant is chosen, narrowed to one identity: with `by` set in the
 * unit's IdentityScope, `table` may be read where `column` equals that value. RLS narrows the
 * same rows by the setting the scope sets; this is the query layer's half of that rule.
 */
export interface IdentityLookup {
  readonly table: string;
  readonly column: string;
  readonly by: IdentityLookupKey;
}

/** The identity values a lookup can be keyed by (each is a transaction setting RLS reads). */
export type IdentityLookupKey = keyof Pick<IdentityScope, 'userId' | 'apiKeyPrefix' | 'invitationTokenHash'>;

/**
 * A module's routes: one Fastify plugin, schemas in TypeBox like Tenantry's own. Its options
 * are what the module's `compose` built for it, never the app's whole set of services.
 */
export type ModuleRoutes<Deps extends object> = FastifyPluginAsyncTypebox<Deps>;

/**
 * Several route plugins as one module's routes, registered in the order given. Each plugin
 * lists only what it uses; the module's Deps covers them all.
 */
export function routePlugins<Deps extends object>(...plugins: readonly ModuleRoutes<Deps>[]): ModuleRoutes<Deps> {
  return async (app, options) => {
    for (const plugin of plugins) await app.register(plugin, options);
  };
}

/**
 * A realtime channel: a stream of the module's changes (events the module records with
 * `publishRealtimeEvent` in the changing transaction) that a WebSocket connection may read.
 */
export interface RealtimeChannelDeclaration {
  /** Lowercase letters, digits and underscores; names the channel in events and subscriptions. */
  readonly name: string;
  /** The lowest role that may read it (an API key reads with its own, bounded role). */
  readonly minRole: Role;
  /**
   * Events carry the agent they concern (or none): a connection acting for an agent (an agent
   * key) sees only its own agent's events; a member's connection sees all of them.
   */
  readonly agentScoped?: boolean;
}

/** What every module may declare, routes aside. */
interface ModuleParts {
  /** Lowercase, digits and underscores: it names the module's migrations table. */
  readonly name: string;
  /** Modules whose tables, routes or services this one uses; they migrate and register first. */
  readonly dependsOn?: readonly TenantryModule[];
  /** An absolute folder of `NNNN_name.sql` files (node-pg-migrate's format), applied in name order. */
  readonly migrations?: string;
  readonly tenantTables?: readonly TenantTableDeclaration[];
  /** The module's global tables that hold rows about a person (see PersonTableDeclaration). */
  readonly personTables?: readonly PersonTableDeclaration[];
  readonly identityLookups?: readonly IdentityLookup[];
  readonly jobs?: readonly JobDefinition[];
  readonly schedules?: readonly JobSchedule[];
  /** Channels of realtime events this module publishes, and who may read each. */
  readonly realtimeChannels?: readonly RealtimeChannelDeclaration[];
  /** The module's own problems (defineProblem): its routes answer them like platform codes. */
  readonly problems?: readonly ProblemDefinition[];
}

/**
 * Routes and the module's composition root, which come together: `compose` builds the
 * module's use cases from the app's services and picks the few services its routes use, and
 * `routes` receives exactly that. A route file then names its own dependencies, so what a
 * route can reach is read off its options type, not off everything the app wires.
 */
interface ComposedRoutes<Deps extends object> {
  /** Called once per app, when Tenantry's plugin registers the module's routes. */
  readonly compose: (services: Services) => Deps;
  /** Registered inside Tenantry's plugin: its routes get access control, validation and problem answers. */
  readonly routes: ModuleRoutes<Deps>;
}

/** What `defineModule` takes: a module with routes declares `compose` too; one without declares neither. */
export type ModuleDeclaration<Deps extends object> = ModuleParts &
  (ComposedRoutes<Deps> | { readonly compose?: undefined; readonly routes?: undefined });

/**
 * A declared module, as the registry and everyone after it read it. Its routes' dependency
 * type stays inside: modules with different Deps sit in one list, and no caller can hand a
 * module's routes anything but what its own `compose` built.
 */
export interface TenantryModule extends ModuleParts {
  /** Runs the module's `compose` on the app's services and registers its routes with the result. */
  readonly registerRoutes?: (app: FastifyInstance, services: Services) => Promise<void>;
}

const MODULE_NAME = /^[a-z][a-z0-9_]{1,39}$/;

/**
 * Declares a module. Nothing runs here: the declaration is checked when a registry is built
 * from it (unknown dependencies, a table declared twice, a job name taken) and applied by
 * whoever reads the registry.
 *
 * @example
 *   export const contractsModule = defineModule({
 *     name: 'contracts',
 *     dependsOn: [tenancyModule],
 *     migrations: fileURLToPath(new URL('./migrations', import.meta.url)),
 *     tenantTables: [{ name: 'contracts', personal: { signer_email: 'pseudonymise' } }],
 *     jobs: [remindUnsignedContracts],
 *     compose: (services) => ({ contracts: new ContractSigning(services.db.withTables<ContractTables>(), services.clock) }),
 *     routes: contractsRoutes, // ModuleRoutes<{ contracts: ContractSigning }>
 *   });
 */
export function defineModule<Deps extends object>(declaration: ModuleDeclaration<Deps>): TenantryModule {
  const { compose, routes, ...parts } = declaration;
  if (!MODULE_NAME.test(parts.name)) {
    throw new TypeError(`module name "${parts.name}" must be 2-40 lowercase letters, digits or underscores, starting with a letter`);
  }
  if (!compose || !routes) return Object.freeze(parts);
  return Object.freeze({
    ...parts,
    registerRoutes: async (app: FastifyInstance, services: Services) => {
      await app.register(routes, compose(services));
    },
  });
}
