// Reads the environment once, validates it and freezes the result.
// Nothing else in Tenantry reads process.env: the config is passed in.

import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';

export interface DatabaseRoles {
  /** Owns the schema and runs migrations. Never used by requests. */
  readonly owner: string;
  /** NOSUPERUSER NOBYPASSRLS: every tenant transaction runs as this role. */
  readonly app: string;
  /** BYPASSRLS: only through the audited service helper. */
  readonly service: string;
  /**
   * NOINHERIT LOGIN, a member of app only: the role request pools log in as. Outside a
   * scoped transaction (which switches to app) it can read nothing, and it can never reach
   * the service role.
   */
  readonly login: string;
  /** NOINHERIT LOGIN, a member of service only: the role the audited service helper logs in as. */
  readonly serviceLogin: string;
}

/** Bounds on request database work, so a slow, stalled or saturated database costs seconds, not minutes. */
export interface DatabaseLimits {
  /** Server-side statement_timeout of every session; the client gives up 1 s later if no answer comes. */
  readonly statementTimeoutMs: number;
  /** A unit of work (one checked-out connection) is destroyed past this; also idle_in_transaction_session_timeout. */
  readonly transactionTimeoutMs: number;
  /** How long a unit of work may wait for a pooled connection, or for a new one to open. */
  readonly connectTimeoutMs: number;
  /** Units of work allowed to wait for a connection; one more is refused at once (503 overloaded). */
  readonly maxWaiting: number;
  /**
   * A pooled connection unused this long is closed. A new one costs PostgreSQL tens of
   * milliseconds of CPU (authentication, then the catalog and the access functions loaded
   * again), so a request pool that let its connections go between bursts paid that again at
   * the start of each (docs/benchmarks.md).
   */
  readonly idleTimeoutMs: number;
}

/** Outbound tenant webhooks: how secrets are kept, which addresses may be called, how long to retry. */
export interface WebhookConfig {
  /**
   * 32 bytes (TENANTRY_WEBHOOK_SECRET_KEY, base64) that encrypt endpoint signing secrets at
   * rest; undefined: generated once and kept in the data folder (embedded mode only).
   */
  readonly secretKey: Buffer | undefined;
  /** http:// endpoints are refused unless this is on (TENANTRY_WEBHOOK_ALLOW_HTTP): local development and tests. */
  readonly allowHttp: boolean;
  /** IPs or CIDRs that may be called although internal (TENANTRY_WEBHOOK_ALLOWED_ADDRESSES); empty in production. */
  readonly allowedAddresses: readonly string[];
  readonly connectTimeoutMs: number;
  /** From connected to the whole response read. */
  readonly responseTimeoutMs: number;
  /** First retry after about this long; each later one waits twice as long, with jitter. */
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** A delivery is retried for this long after its event, then given up. */
  readonly retryWindowSeconds: number;
  /** After a rotation the old secret keeps signing beside the new one this long. */
  readonly secretOverlapSeconds: number;
}

/** What request pools get unless the environment says otherwise. */
const DEFAULT_DATABASE_LIMITS: DatabaseLimits = Object.freeze({
  statementTimeoutMs: 5_000,
  transactionTimeoutMs: 15_000,
  connectTimeoutMs: 2_000,
  maxWaiting: 1_000,
  idleTimeoutMs: 10 * 60_000,
});

export type JwtKeyConfig =
  | { readonly kind: 'secret'; readonly secret: string }
  | { readonly kind: 'keypair'; readonly alg: string; readonly privateKeyPem: string; readonly publicKeyPem: string };

export interface Config {
  readonly host: string;
  readonly port: number;
  readonly logLevel: string;
  /** External PostgreSQL; undefined means "boot the embedded one". */
  readonly databaseUrl: string | undefined;
  /**
   * What request pools connect with on an external database: ideally the login role (see
   * DatabaseRoles.login). Unset: DATABASE_URL's own user. Embedded mode manages its own.
   */
  readonly appDatabaseUrl: string | undefined;
  /**
   * What the audited service helper connects with on an external database: ideally the
   * service login role. Unset: DATABASE_URL's own user. Embedded mode manages its own.
   */
  readonly serviceDatabaseUrl: string | undefined;
  readonly dataDir: string;
  readonly embeddedPort: number;
  readonly poolSize: number;
  readonly databaseLimits: DatabaseLimits;
  /** Hot statements that ask for it run as named prepared statements (db/prepared-statements.ts). */
  readonly preparedStatements: boolean;
  /** Mean event-loop delay past which requests are shed with 503 overloaded; 0: never. */
  readonly maxEventLoopDelayMs: number;
  readonly roles: DatabaseRoles;
  /** undefined: generated once and kept in the data folder (embedded mode only). */
  readonly jwt: JwtKeyConfig | undefined;
  readonly accessTokenTtlSeconds: number;
  readonly refreshTokenTtlSeconds: number;
  readonly openSignup: boolean;
  readonly bodyLimitBytes: number;
  /** Tenants are also resolved from <subdomain>.<baseDomain> when set. */
  readonly baseDomain: string | undefined;
  /** Days a soft-deleted tenant is kept before the purge job removes it for good. */
  readonly purgeRetentionDays: number;
  /** Hours before the open billing period's start that usage events are still accepted. */
  readonly usageGraceHours: number;
  /** Prefix of every Redis key Tenantry writes (rate-limit buckets). */
  readonly redisKeyPrefix: string;
  /** Per-tenant (plan) and per-user rate limits and the sign-in throttle; off only where something else limits (tests). */
  readonly rateLimits: boolean;
  /** Whether `tenantry start` runs the sample task domain (TENANTRY_TASK_DOMAIN, on by default). */
  readonly taskDomain: boolean;
  /** Requests per minute each signed-in user may make to the user routes (/v1/me, switch-tenant); 0: unlimited. */
  readonly userRateLimitPerMinute: number;
  /**
   * Addresses or CIDRs (or proxy-addr's `loopback`, `linklocal`, `uniquelocal`) of the proxies
   * whose X-Forwarded-For / -Host / -Proto are believed; false: none, the socket's peer is the client.
   */
  readonly trustProxy: false | readonly string[];
  /** SHA-256 of the platform-admin bearer token; undefined: the admin API accepts no one. */
  readonly platformAdminTokenHash: Buffer | undefined;
  /** Redis for cache invalidation across instances; undefined: PostgreSQL LISTEN/NOTIFY. */
  readonly redisUrl: string | undefined;
  /** How long plans, flags and settings are cached per process (1-30 s). */
  readonly cacheTtlSeconds: number;
  /** Redis channel / PostgreSQL NOTIFY channel of cache invalidations. */
  readonly cacheChannel: string;
  /** Folder of the local export storage (finished tenant export archives and their staging files). */
  readonly exportDir: string;
  /** Hours a finished export can be downloaded before the retention job deletes it. */
  readonly exportRetentionHours: number;
  /** Transactional email: an SMTP server, or (none configured) the local mailbox in the database. */
  readonly mail: MailConfig;
  readonly webhooks: WebhookConfig;
  /** Billing: the dunning grace period (see docs/billing.md). */
  readonly billing: BillingConfig;
  /** Origins a browser may open GET /v1/realtime from (TENANTRY_REALTIME_ORIGINS); none: no browser may. */
  readonly realtimeOrigins: readonly string[];
  /** Events kept per tenant for clients resuming after a disconnect (TENANTRY_REALTIME_RETENTION). */
  readonly realtimeRetention: number;
  /** Redis channel / PostgreSQL NOTIFY channel of realtime events between instances. */
  readonly realtimeChannel: string;
  /** How often sockets are pinged; one that has not answered the previous ping is closed. */
  readonly realtimeHeartbeatMs: number;
}

export interface BillingConfig {
  /** Days a past_due tenant keeps writing before it is suspended (read-only). */
  readonly graceDays: number;
  /** Set when STRIPE_SECRET_KEY is: billing goes through Stripe; otherwise the local provider. */
  readonly stripe: StripeConfig | undefined;
}

export interface StripeConfig {
  readonly secretKey: string;
  /** Verifies POST /v1/billing/webhooks/stripe (whsec_...); required with the secret key. */
  readonly webhookSecret: string;
  /** Stripe's API base (STRIPE_API_BASE_URL); a local stand-in in tests. Undefined: api.stripe.com. */
  readonly apiBaseUrl: URL | undefined;
  /** The Price each plan's subscription uses (STRIPE_PRICES=pro:price_123,promax:price_456). */
  readonly prices: Readonly<Record<string, string>>;
  /** Where Checkout sends the customer back (STRIPE_CHECKOUT_SUCCESS_URL, STRIPE_CHECKOUT_CANCEL_URL). */
  readonly successUrl: string;
  readonly cancelUrl: string;
}


/** Where transactional email goes, and what it says it is from. */
export interface MailConfig {
  /** nodemailer's SMTP options (SMTP_URL, or SMTP_HOST and friends); undefined: the local mailbox. */
  readonly smtp: SmtpSettings | undefined;
  /** The From header (MAIL_FROM). */
  readonly from: string;
  /** Where links in emails point: the app a person opens them in (TENANTRY_APP_URL). */
  readonly appUrl: string;
}

export type SmtpSettings =
  | { readonly url: string }
  | { readonly host: string; readonly port: number; readonly secure: boolean; readonly user: string | undefined; readonly pass: string | undefined };

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function integer(env: Env, key: string, fallback: number, min: number, max: number): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${key} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function logLevel(env: Env): string {
  const value = env.LOG_LEVEL || 'info';
  if (!LOG_LEVELS.includes(value)) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${value}"`);
  return value;
}

function boolean(env: Env, key: string, fallback: boolean): boolean {
  const raw = env[key]?.toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${key} must be true or false, got "${env[key]}"`);
}

function roleName(env: Env, key: string, fallback: string): string {
  const value = env[key] || fallback;
  if (!ROLE_NAME.test(value)) {
    throw new ConfigError(`${key} must be a lowercase PostgreSQL identifier, got "${value}"`);
  }
  return value;
}

const JWT_ALGS = ['ES256', 'ES384', 'RS256', 'PS256', 'EdDSA'];

function jwtKey(env: Env): JwtKeyConfig | undefined {
  const secret = env.TENANTRY_JWT_SECRET;
  const privateKeyPem = env.TENANTRY_JWT_PRIVATE_KEY;
  const publicKeyPem = env.TENANTRY_JWT_PUBLIC_KEY;
  if (secret && privateKeyPem) {
    throw new ConfigError('set either TENANTRY_JWT_SECRET or TENANTRY_JWT_PRIVATE_KEY, not both');
  }
  if (secret) {
    if (Buffer.byteLength(secret) < 32) {
      throw new ConfigError('TENANTRY_JWT_SECRET must be at least 32 bytes');
    }
    return { kind: 'secret', secret };
  }
  if (privateKeyPem || publicKeyPem) {
    if (!privateKeyPem || !publicKeyPem) {
      throw new ConfigError('TENANTRY_JWT_PRIVATE_KEY and TENANTRY_JWT_PUBLIC_KEY go together');
    }
    const alg = env.TENANTRY_JWT_ALG || 'ES256';
    if (!JWT_ALGS.includes(alg)) {
      throw new ConfigError(`TENANTRY_JWT_ALG must be one of ${JWT_ALGS.join(', ')}, got "${alg}"`);
    }
    return { kind: 'keypair', alg, privateKeyPem, publicKeyPem };
  }
  return undefined;
}

/** Only the hash of the admin token is kept in memory past start-up. */
function platformAdminTokenHash(env: Env): Buffer | undefined {
  const token = env.TENANTRY_PLATFORM_ADMIN_TOKEN;
  if (!token) return undefined;
  if (token.length < 32) throw new ConfigError('TENANTRY_PLATFORM_ADMIN_TOKEN must be at least 32 characters');
  return createHash('sha256').update(token, 'utf8').digest();
}

function databaseLimits(env: Env): DatabaseLimits {
  const defaults = DEFAULT_DATABASE_LIMITS;
  const statementTimeoutMs = integer(env, 'TENANTRY_DB_STATEMENT_TIMEOUT_MS', defaults.statementTimeoutMs, 100, 3_600_000);
  const transactionTimeoutMs = integer(env, 'TENANTRY_DB_TRANSACTION_TIMEOUT_MS', defaults.transactionTimeoutMs, 100, 3_600_000);
  if (transactionTimeoutMs < statementTimeoutMs) {
    throw new ConfigError('TENANTRY_DB_TRANSACTION_TIMEOUT_MS must not be shorter than TENANTRY_DB_STATEMENT_TIMEOUT_MS');
  }
  return Object.freeze({
    statementTimeoutMs,
    transactionTimeoutMs,
    connectTimeoutMs: integer(env, 'TENANTRY_DB_CONNECT_TIMEOUT_MS', defaults.connectTimeoutMs, 100, 60_000),
    maxWaiting: integer(env, 'TENANTRY_DB_MAX_WAITING', defaults.maxWaiting, 0, 100_000),
    idleTimeoutMs: integer(env, 'TENANTRY_DB_IDLE_TIMEOUT_MS', defaults.idleTimeoutMs, 1_000, 86_400_000),
  });
}

function cacheChannel(env: Env): string {
  const value = env.TENANTRY_CACHE_CHANNEL || 'tenantry_cache';
  if (!/^[A-Za-z0-9_.:-]{1,60}$/.test(value)) {
    throw new ConfigError(`TENANTRY_CACHE_CHANNEL must be 1-60 of A-Z a-z 0-9 _ . : -, got "${value}"`);
  }
  return value;
}

function redisUrl(env: Env): string | undefined {
  const value = env.REDIS_URL || undefined;
  if (value && !/^rediss?:\/\//.test(value)) throw new ConfigError(`REDIS_URL must start with redis:// or rediss://`);
  return value;
}

function redisKeyPrefix(env: Env): string {
  const value = env.TENANTRY_REDIS_KEY_PREFIX ?? 'tenantry:';
  if (!/^[A-Za-z0-9_.:-]{0,60}$/.test(value)) {
    throw new ConfigError(`TENANTRY_REDIS_KEY_PREFIX must be 0-60 of A-Z a-z 0-9 _ . : -, got "${value}"`);
  }
  return value;
}

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * Only named proxies are trusted. `true` would let any client choose its address (and so a
 * fresh sign-in throttle bucket) by sending X-Forwarded-For; Fastify ignores a hop count
 * altogether (it cannot tell a proxy from a client), so both are refused rather than half-kept.
 */
function trustProxy(env: Env): false | readonly string[] {
  const raw = env.TENANTRY_TRUST_PROXY?.trim();
  if (!raw || raw.toLowerCase() === 'false') return false;
  const refuse = (why: string) =>
    new ConfigError(`TENANTRY_TRUST_PROXY ${why}; give the proxies' addresses or CIDRs, comma-separated (e.g. 10.0.0.0/8,::1)`);
  if (raw.toLowerCase() === 'true') throw refuse('may not be true: any client could then pick its address with X-Forwarded-For');
  if (/^\d+$/.test(raw)) throw refuse('may not be a hop count: it cannot tell a proxy from a client');
  const entries = raw.split(',').map((entry) => entry.trim());
  for (const entry of entries) {
    if (PROXY_NAMES.has(entry)) continue;
    const [address = '', prefix, extra] = entry.split('/');
    const family = isIP(address);
    const bits = family === 6 ? 128 : 32;
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits);
    if (family === 0 || !prefixOk || extra !== undefined) throw refuse(`has "${entry}", which is no address or CIDR`);
  }
  return Object.freeze(entries);
}

function webhookSecretKey(env: Env): Buffer | undefined {
  const raw = env.TENANTRY_WEBHOOK_SECRET_KEY;
  if (!raw) return undefined;
  const key = Buffer.from(raw, 'base64');
  if (key.length !== 32 || key.toString('base64') !== raw.trim()) {
    throw new ConfigError('TENANTRY_WEBHOOK_SECRET_KEY must be 32 bytes in base64 (e.g. openssl rand -base64 32)');
  }
  return key;
}

function webhookAllowedAddresses(env: Env): readonly string[] {
  const raw = env.TENANTRY_WEBHOOK_ALLOWED_ADDRESSES?.trim();
  if (!raw) return Object.freeze([]);
  const entries = raw.split(',').map((entry) => entry.trim());
  for (const entry of entries) {
    const [address = '', prefix, extra] = entry.split('/');
    const family = isIP(address);
    const bits = family === 6 ? 128 : 32;
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits);
    if (family === 0 || !prefixOk || extra !== undefined) {
      throw new ConfigError(`TENANTRY_WEBHOOK_ALLOWED_ADDRESSES has "${entry}", which is no address or CIDR`);
    }
  }
  return Object.freeze(entries);
}

function webhooks(env: Env): WebhookConfig {
  const retryBaseMs = integer(env, 'TENANTRY_WEBHOOK_RETRY_BASE_MS', 10_000, 10, 3_600_000);
  const retryMaxMs = integer(env, 'TENANTRY_WEBHOOK_RETRY_MAX_MS', 3_600_000, 10, 86_400_000);
  if (retryMaxMs < retryBaseMs) throw new ConfigError('TENANTRY_WEBHOOK_RETRY_MAX_MS must not be shorter than TENANTRY_WEBHOOK_RETRY_BASE_MS');
  return Object.freeze({
    secretKey: webhookSecretKey(env),
    allowHttp: boolean(env, 'TENANTRY_WEBHOOK_ALLOW_HTTP', false),
    allowedAddresses: webhookAllowedAddresses(env),
    connectTimeoutMs: integer(env, 'TENANTRY_WEBHOOK_CONNECT_TIMEOUT_MS', 5_000, 50, 60_000),
    responseTimeoutMs: integer(env, 'TENANTRY_WEBHOOK_RESPONSE_TIMEOUT_MS', 10_000, 50, 120_000),
    retryBaseMs,
    retryMaxMs,
    retryWindowSeconds: integer(env, 'TENANTRY_WEBHOOK_RETRY_WINDOW_SECONDS', 86_400, 1, 7 * 86_400),
    secretOverlapSeconds: integer(env, 'TENANTRY_WEBHOOK_SECRET_OVERLAP_SECONDS', 86_400, 0, 30 * 86_400),
  });
}

/**
 * Exact origins (`https://app.example.com`, `http://localhost:5173`), comma-separated. A
 * browser sends its page's origin with every WebSocket upgrade; one not listed is refused
 * before the socket opens, so no other site's page can open a socket with the user's browser.
 */
function realtimeOrigins(env: Env): readonly string[] {
  const raw = env.TENANTRY_REALTIME_ORIGINS?.trim();
  if (!raw) return Object.freeze([]);
  const origins = raw.split(',').map((entry) => entry.trim());
  for (const origin of origins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || parsed.origin !== origin) {
      throw new ConfigError(`TENANTRY_REALTIME_ORIGINS must list origins like https://app.example.com, got "${origin}"`);
    }
  }
  return Object.freeze(origins);
}

function realtimeChannel(env: Env): string {
  const value = env.TENANTRY_REALTIME_CHANNEL || 'tenantry_realtime';
  if (!/^[A-Za-z0-9_.:-]{1,60}$/.test(value)) {
    throw new ConfigError(`TENANTRY_REALTIME_CHANNEL must be 1-60 of A-Z a-z 0-9 _ . : -, got "${value}"`);
  }
  return value;
}

export function loadConfig(env: Env = process.env): Config {
  const databaseUrl = env.DATABASE_URL || undefined;
  const jwt = jwtKey(env);
  if (databaseUrl && !jwt) {
    throw new ConfigError('TENANTRY_JWT_SECRET (or a key pair) is required with an external DATABASE_URL');
  }
  return Object.freeze({
    host: env.HOST || '0.0.0.0',
    port: integer(env, 'PORT', 3000, 0, 65535),
    logLevel: logLevel(env),
    databaseUrl,
    appDatabaseUrl: env.TENANTRY_APP_DATABASE_URL || undefined,
    serviceDatabaseUrl: env.TENANTRY_SERVICE_DATABASE_URL || undefined,
    dataDir: resolve(env.TENANTRY_DATA_DIR || '.tenantry'),
    embeddedPort: integer(env, 'TENANTRY_EMBEDDED_PG_PORT', 54329, 0, 65535),
    poolSize: integer(env, 'TENANTRY_DB_POOL_SIZE', 20, 1, 1000),
    databaseLimits: databaseLimits(env),
    preparedStatements: boolean(env, 'TENANTRY_DB_PREPARED_STATEMENTS', true),
    maxEventLoopDelayMs: integer(env, 'TENANTRY_MAX_EVENT_LOOP_DELAY_MS', 1_000, 0, 60_000),
    roles: Object.freeze({
      owner: roleName(env, 'TENANTRY_DB_OWNER_ROLE', 'tenantry_owner'),
      app: roleName(env, 'TENANTRY_DB_APP_ROLE', 'tenantry_app'),
      service: roleName(env, 'TENANTRY_DB_SERVICE_ROLE', 'tenantry_service'),
      login: roleName(env, 'TENANTRY_DB_LOGIN_ROLE', 'tenantry_login'),
      serviceLogin: roleName(env, 'TENANTRY_DB_SERVICE_LOGIN_ROLE', 'tenantry_service_login'),
    }),
    jwt: jwt && Object.freeze(jwt),
    accessTokenTtlSeconds: integer(env, 'TENANTRY_ACCESS_TOKEN_TTL', 900, 30, 86_400),
    refreshTokenTtlSeconds: integer(env, 'TENANTRY_REFRESH_TOKEN_TTL', 30 * 86_400, 300, 365 * 86_400),
    openSignup: boolean(env, 'TENANTRY_OPEN_SIGNUP', true),
    bodyLimitBytes: integer(env, 'TENANTRY_BODY_LIMIT', 1_048_576, 1024, 100 * 1_048_576),
    baseDomain: env.TENANTRY_BASE_DOMAIN || undefined,
    purgeRetentionDays: integer(env, 'TENANTRY_PURGE_RETENTION_DAYS', 30, 0, 3650),
    usageGraceHours: integer(env, 'TENANTRY_USAGE_GRACE_HOURS', 48, 0, 24 * 62),
    redisKeyPrefix: redisKeyPrefix(env),
    rateLimits: boolean(env, 'TENANTRY_RATE_LIMITS', true),
    taskDomain: boolean(env, 'TENANTRY_TASK_DOMAIN', true),
    userRateLimitPerMinute: integer(env, 'TENANTRY_USER_RATE_LIMIT_PER_MINUTE', 120, 0, 1_000_000),
    trustProxy: trustProxy(env),
    platformAdminTokenHash: platformAdminTokenHash(env),
    redisUrl: redisUrl(env),
    cacheTtlSeconds: integer(env, 'TENANTRY_CACHE_TTL_SECONDS', 30, 1, 30),
    cacheChannel: cacheChannel(env),
    exportDir: resolve(env.TENANTRY_EXPORT_DIR || join(env.TENANTRY_DATA_DIR || '.tenantry', 'exports')),
    exportRetentionHours: integer(env, 'TENANTRY_EXPORT_RETENTION_HOURS', 7 * 24, 1, 90 * 24),
    mail: mailConfig(env),
    webhooks: webhooks(env),
    billing: Object.freeze({
      graceDays: integer(env, 'TENANTRY_BILLING_GRACE_DAYS', 7, 0, 365),
      stripe: stripeConfig(env),
    }),
    realtimeOrigins: realtimeOrigins(env),
    realtimeRetention: integer(env, 'TENANTRY_REALTIME_RETENTION', 1_000, 10, 1_000_000),
    realtimeChannel: realtimeChannel(env),
    realtimeHeartbeatMs: integer(env, 'TENANTRY_REALTIME_HEARTBEAT_MS', 15_000, 100, 300_000),
  });
}

function httpUrl(env: Env, key: string, fallback?: string): URL | undefined {
  const value = env[key] || fallback;
  if (!value) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${key} must be a URL, got "${value}"`);
  }
  if (!/^https?:$/.test(url.protocol)) throw new ConfigError(`${key} must be an http(s) URL`);
  return url;
}

/** STRIPE_SECRET_KEY selects the Stripe provider; the rest only make sense with it. */
function stripeConfig(env: Env): StripeConfig | undefined {
  const secretKey = env.STRIPE_SECRET_KEY || undefined;
  if (!secretKey) {
    const stray = ['STRIPE_WEBHOOK_SECRET', 'STRIPE_API_BASE_URL', 'STRIPE_PRICES'].find((key) => env[key]);
    if (stray) throw new ConfigError(`${stray} needs STRIPE_SECRET_KEY (without it billing runs on the local provider)`);
    return undefined;
  }
  const webhookSecret = env.STRIPE_WEBHOOK_SECRET || undefined;
  // Without it no webhook can be believed, so no payment would ever move dunning.
  if (!webhookSecret) throw new ConfigError('STRIPE_WEBHOOK_SECRET is required with STRIPE_SECRET_KEY');
  const prices: Record<string, string> = {};
  for (const entry of (env.STRIPE_PRICES ?? '').split(',').map((item) => item.trim()).filter(Boolean)) {
    const [plan, price, extra] = entry.split(':');
    if (!plan || !price || extra !== undefined) throw new ConfigError(`STRIPE_PRICES must be plan:price pairs, comma-separated; got "${entry}"`);
    prices[plan] = price;
  }
  const appUrl = (env.TENANTRY_APP_URL || 'http://localhost:3000').replace(/\/+$/, '');
  return Object.freeze({
    secretKey,
    webhookSecret,
    apiBaseUrl: httpUrl(env, 'STRIPE_API_BASE_URL'),
    prices: Object.freeze(prices),
    successUrl: httpUrl(env, 'STRIPE_CHECKOUT_SUCCESS_URL', `${appUrl}/billing?checkout=done`)!.toString(),
    cancelUrl: httpUrl(env, 'STRIPE_CHECKOUT_CANCEL_URL', `${appUrl}/billing?checkout=cancelled`)!.toString(),
  });
}

/** SMTP_URL wins; else SMTP_HOST (with SMTP_PORT, SMTP_SECURE, SMTP_USER, SMTP_PASS); else none. */
function mailConfig(env: Env): MailConfig {
  const url = env.SMTP_URL || undefined;
  if (url && !/^smtps?:\/\/[^/]/.test(url)) throw new ConfigError('SMTP_URL must start with smtp:// or smtps://');
  const host = env.SMTP_HOST || undefined;
  if (url && host) throw new ConfigError('set either SMTP_URL or SMTP_HOST, not both');
  if (!host && (env.SMTP_USER || env.SMTP_PASS)) throw new ConfigError('SMTP_USER and SMTP_PASS need SMTP_HOST');
  const secure = boolean(env, 'SMTP_SECURE', false);
  const smtp: SmtpSettings | undefined = url
    ? { url }
    : host
      ? { host, port: integer(env, 'SMTP_PORT', secure ? 465 : 587, 1, 65535), secure, user: env.SMTP_USER || undefined, pass: env.SMTP_PASS || undefined }
      : undefined;
  const from = env.MAIL_FROM || 'Tenantry <no-reply@localhost>';
  // One line, no CR/LF: it becomes a header.
  if (/[\r\n]/.test(from) || from.length > 200) throw new ConfigError('MAIL_FROM must be one line of at most 200 characters');
  const appUrl = env.TENANTRY_APP_URL || 'http://localhost:3000';
  if (!/^https?:\/\/[^/]/.test(appUrl)) throw new ConfigError('TENANTRY_APP_URL must be an http(s) URL');
  return Object.freeze({ smtp: smtp && Object.freeze(smtp), from, appUrl: appUrl.replace(/\/+$/, '') });
}
