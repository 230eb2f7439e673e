// Wires the long-lived services one app instance uses. Built once at start-up (or per test
// file) and handed to route plugins; nothing here reads the environment.

import { hkdfSync } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import type pg from 'pg';
import type { Logger } from 'pino';
import { AccessTokens } from './auth/access-tokens.js';
import { Authenticator } from './auth/authenticate.js';
import { CredentialThrottle } from './auth/credential-throttle.js';
import { BillingEvents, BILLING_STATE_CHANGED, INVOICE_ISSUED, PLAN_CHANGED } from './billing/billing-events.js';
import { AccessCache } from './cache/access-cache.js';
import type { CacheInvalidation } from './cache/cache-invalidation.js';
import { createInvalidation } from './cache/create-invalidation.js';
import { CACHE_INVALIDATION_TOPIC } from './cache/redis-transport.js';
import { createTransactionalEmail } from './email/create-transactional-email.js';
import { EMAIL_TOPIC, type TransactionalEmail } from './email/transactional-email.js';
import { OutboxRelay } from './outbox/outbox-relay.js';
import { databaseProfileLoader, TenantProfiles } from './cache/tenant-profiles.js';
import { Sessions } from './auth/sessions.js';
import type { Clock } from './clock.js';
import type { Config, JwtKeyConfig } from './config.js';
import { Database } from './db/database.js';
import { ReadinessProbe } from './db/readiness-probe.js';
import { Flags } from './flags/flags.js';
import { featureGate } from './flags/require-feature.js';
import { JOB_ENQUEUE_TOPIC } from './jobs/job-outbox.js';
import { Jobs } from './jobs/jobs.js';
import type { TenantryModule } from './modules/module.js';
import { ModuleRegistry } from './modules/registry.js';
import { Metering } from './metering/metering.js';
import { planLimitsFrom } from './metering/plan-limits.js';
import { PlatformCatalog } from './plans/platform-catalog.js';
import { readPlatformData } from './plans/platform-repository.js';
import { Plans } from './plans/plans.js';
import { UserRateLimiter } from './ratelimit/user-rate-limiter.js';
import type { Actor } from './tenancy/actor.js';
import { TenantResolver } from './tenancy/resolve-tenant.js';
import { announceUsageWarning } from './webhooks/usage-warning-event.js';
import { webhooksModule } from './webhooks/webhooks.module.js';
import { createRealtime, type Realtime } from './realtime/create-realtime.js';
import { REALTIME_TOPIC } from './realtime/realtime-event.js';

export interface Services {
  /** The registered modules: their tenant tables, jobs and routes. */
  readonly modules: ModuleRegistry;
  readonly config: Config;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly db: Database;
  /** Whether the database answers, on a connection of its own (GET /readyz); closed with the app. */
  readonly readiness: ReadinessProbe;
  /** Per-address and per-email throttle of the public credential routes. */
  readonly credentialThrottle: CredentialThrottle;
  readonly sessions: Sessions;
  readonly authenticator: Authenticator;
  readonly resolver: TenantResolver;
  /** The job queue; its worker is started by the server, not here. */
  readonly jobs: Jobs;
  /** Usage events, rollups, quotas, API-call counting and per-tenant rate limits. */
  readonly metering: Metering;
  /** The access hook calls it for every tenant request: rate limit, then count the call. */
  readonly admitTenantRequest: (actor: Actor, reply: FastifyReply) => Promise<void>;
  /** The access hook calls it for every request on a user route (/v1/me, switch-tenant): the per-user rate limit. */
  readonly admitUserRequest: (userId: string, reply: FastifyReply) => Promise<void>;
  /** Delivers the outbox after commit; started and stopped by the server, like the job worker. */
  readonly outbox: OutboxRelay;
  /** Evicts cached plans, flags and settings on every instance; closed with the app. */
  readonly invalidation: CacheInvalidation;
  readonly platformCatalog: PlatformCatalog;
  readonly tenantProfiles: TenantProfiles;
  /** The plan catalog: limitFor(plan, metric), rateLimitFor(plan). */
  readonly plans: Plans;
  /** Flag evaluation for the request's tenant, from the caches. */
  readonly flags: Flags;
  /** The access hook's plan gate for routes that declare `feature`. */
  readonly requireFeature: (feature: string, actor: Actor) => Promise<void>;
  /** Billing's announcements (state changes, invoices issued), delivered from the outbox; modules subscribe when composed. */
  readonly billingEvents: BillingEvents;
  /** Transactional email: queued through the outbox, sent by SMTP or kept in the local mailbox. */
  readonly email: TransactionalEmail;
  /** The server's key for signed export links, pseudonyms and erasure certificates (derived from the JWT key). */
  readonly privacyKey: Buffer;
  /** WebSocket rooms, the realtime bus and the outbox consumer that sequences events. */
  readonly realtime: Realtime;
}

export interface ServiceInputs {
  /** Tenantry's own (see built-in-modules.ts) and the adopter's; dependencies must be listed too. */
  readonly modules: readonly TenantryModule[];
  readonly config: Config;
  readonly jwt: JwtKeyConfig;
  readonly pool: pg.Pool;
  /** The audited service helper's pool; defaults to `pool` (a login that may use both roles). */
  readonly servicePool?: pg.Pool;
  /** The job queue's pool; defaults to `pool` (tests, where one login can do both). */
  readonly queuePool?: pg.Pool;
  /** Jobs' own data work, under looser time bounds than requests; defaults to `pool`. */
  readonly backgroundPool?: pg.Pool;
  readonly clock: Clock;
  readonly logger: Logger;
  /** A distributed PostgreSQL (Citus): see DatabaseOptions.distributed. */
  readonly distributed?: boolean;
}

/** The per-user limit draws on the tenant limiter's buckets: the same Redis, the same fallback. */
function userRateLimit(config: Config, metering: Metering): Services['admitUserRequest'] {
  if (!config.rateLimits || config.userRateLimitPerMinute === 0) return async () => {};
  const limiter = new UserRateLimiter(metering.rateLimiter.buckets, config.userRateLimitPerMinute);
  return (userId, reply) => limiter.admit(userId, reply);
}

/**
 * How long an instance keeps a credential's access. Every use is re-checked by PostgreSQL, so
 * this bounds memory, not staleness: invalidation only spares the odd access-changed answer.
 */
const ACCESS_CACHE_TTL_MS = 10 * 60_000;

/**
 * A key of its own for one purpose, derived (HKDF-SHA256) from the JWT signing material every
 * deployment already keeps secret: nothing more to configure, and a leaked derived key does not
 * sign tokens.
 */
function derivedKey(jwt: JwtKeyConfig, purpose: string): Buffer {
  const material = jwt.kind === 'secret' ? jwt.secret : jwt.privateKeyPem;
  return Buffer.from(hkdfSync('sha256', material, 'tenantry', purpose, 32));
}

/** A readiness probe that has not heard back within this long says "not ready". */
const READINESS_TIMEOUT_MS = 1_000;

export function createServices(inputs: ServiceInputs): Services {
  const { modules: declared, config, jwt, pool, servicePool, queuePool, backgroundPool, clock, logger, distributed } = inputs;
  const modules = new ModuleRegistry(declared);
  const databaseOptions = { servicePool, roles: config.roles, logger, modules, preparedStatements: config.preparedStatements, distributed };
  const db = new Database({ pool, ...databaseOptions });
  const backgroundDb = backgroundPool ? new Database({ pool: backgroundPool, ...databaseOptions }) : db;
  const tokens = new AccessTokens(jwt, config.accessTokenTtlSeconds, clock);
  const invalidation = createInvalidation(config, pool, logger);
  const ttlMs = () => invalidation.ttlMs();
  // Inside a unit of work the catalog is read through its transaction, never a second connection.
  const platformCatalog = new PlatformCatalog((tx) => (tx ? readPlatformData(tx) : db.identity({}, readPlatformData)), invalidation, ttlMs);
  const tenantProfiles = new TenantProfiles(databaseProfileLoader(db), invalidation, ttlMs);
  const accessCache = new AccessCache({ ttlMs: () => ACCESS_CACHE_TTL_MS }, invalidation);
  const flags = new Flags(platformCatalog, tenantProfiles);
  const plans = new Plans(platformCatalog);
  const billingEvents = new BillingEvents();
  const metering = new Metering({
    db,
    clock,
    logger,
    plans: planLimitsFrom(plans),
    settings: {
      usageGraceHours: config.usageGraceHours,
      redisUrl: config.redisUrl,
      redisKeyPrefix: config.redisKeyPrefix,
      rateLimits: config.rateLimits,
    },
    // Only where the webhooks module runs: its tables must exist for the event to be written.
    usageWarnings: modules.modules.includes(webhooksModule) ? announceUsageWarning : undefined,
  });
  const jobs = new Jobs({
    pool: queuePool ?? pool,
    dependencies: { db: backgroundDb, clock, config, logger, modules },
    definitions: modules.jobs,
    schedules: modules.schedules,
  });
  const email = createTransactionalEmail(config.mail, jwt, db, logger);
  const authenticator = new Authenticator(db, tokens, clock, accessCache);
  const resolver = new TenantResolver({ db, clock, baseDomain: config.baseDomain, cache: accessCache, logger });
  const realtime = createRealtime({
    config,
    pool,
    servicePool: servicePool ?? pool,
    db,
    modules,
    plans,
    invalidation,
    authenticator,
    resolver,
    clock,
    logger,
  });
  return {
    modules,
    config,
    clock,
    logger,
    db,
    readiness: new ReadinessProbe(pool.options, READINESS_TIMEOUT_MS),
    sessions: new Sessions(db, tokens, clock, config.refreshTokenTtlSeconds),
    credentialThrottle: new CredentialThrottle(config.rateLimits),
    authenticator,
    resolver,
    jobs,
    outbox: new OutboxRelay({
      pool: servicePool ?? pool,
      serviceRole: config.roles.service,
      logger,
      consumers: new Map([
        [CACHE_INVALIDATION_TOPIC, invalidation.outboxConsumer],
        [JOB_ENQUEUE_TOPIC, jobs.outboxConsumer],
        [BILLING_STATE_CHANGED, billingEvents.outboxConsumer],
        [INVOICE_ISSUED, billingEvents.outboxConsumer],
        [PLAN_CHANGED, billingEvents.outboxConsumer],
        [EMAIL_TOPIC, email.outboxConsumer],
      ]),
      batchConsumers: new Map([[REALTIME_TOPIC, realtime.sequencer]]),
      preparedStatements: config.preparedStatements,
    }),
    invalidation,
    platformCatalog,
    tenantProfiles,
    plans,
    flags,
    requireFeature: featureGate(flags),
    metering,
    admitTenantRequest: (actor, reply) => metering.admitTenantRequest(actor, reply),
    admitUserRequest: userRateLimit(config, metering),
    billingEvents,
    email,
    privacyKey: derivedKey(jwt, 'tenantry privacy signatures'),
    realtime,
  };
}
