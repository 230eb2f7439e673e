// Builds one instance's realtime side from the app's services: the bus (Redis when REDIS_URL is
// set, else LISTEN/NOTIFY), the hub holding this instance's sockets, the outbox consumer that
// sequences events, and socket authentication through the app's own authenticator.

import type pg from 'pg';
import type { Logger } from 'pino';
import type { Authenticator } from '../auth/authenticate.js';
import type { CacheInvalidation } from '../cache/cache-invalidation.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import type { ModuleRegistry } from '../modules/registry.js';
import type { OutboxBatchConsumer } from '../outbox/outbox-message.js';
import type { Plans } from '../plans/plans.js';
import type { TenantResolver } from '../tenancy/resolve-tenant.js';
import { AccessVerification } from './access-verification.js';
import { ChannelAccess } from './channel-access.js';
import { eventSequencer } from './event-sequencer.js';
import { PostgresBus } from './postgres-bus.js';
import type { RealtimeBus } from './realtime-bus.js';
import { RealtimeHub } from './realtime-hub.js';
import type { RealtimeTables } from './realtime-tables.js';
import { RedisBus } from './redis-bus.js';
import { SocketAuthentication } from './socket-authentication.js';

export interface Realtime {
  readonly hub: RealtimeHub;
  readonly authentication: SocketAuthentication;
  /** The outbox consumer of REALTIME_TOPIC: a relay pass's events at once. */
  readonly sequencer: OutboxBatchConsumer;
  /** Origins a browser may open a socket from (exact `scheme://host[:port]`). */
  readonly allowedOrigins: ReadonlySet<string>;
}

export interface RealtimeInputs {
  readonly config: Config;
  readonly pool: pg.Pool;
  /** Where the cross-tenant access verification and event numbering run as the service role. */
  readonly servicePool: pg.Pool;
  readonly db: Database;
  readonly modules: ModuleRegistry;
  readonly plans: Plans;
  readonly invalidation: CacheInvalidation;
  readonly authenticator: Authenticator;
  readonly resolver: TenantResolver;
  readonly clock: Clock;
  readonly logger: Logger;
}

export function createRealtime(inputs: RealtimeInputs): Realtime {
  const { config, logger } = inputs;
  const bus: RealtimeBus = config.redisUrl
    ? new RedisBus(config.redisUrl, config.realtimeChannel, logger)
    : new PostgresBus(inputs.pool.options, config.realtimeChannel, logger);
  const db = inputs.db.withTables<RealtimeTables>();
  const channels = new ChannelAccess(inputs.modules.realtimeChannels);
  return {
    hub: new RealtimeHub({
      db,
      bus,
      verification: new AccessVerification(inputs.servicePool.options, config.roles.service),
      channels,
      plans: inputs.plans,
      invalidation: inputs.invalidation,
      clock: inputs.clock,
      logger,
      timings: { heartbeatEveryMs: config.realtimeHeartbeatMs },
    }),
    authentication: new SocketAuthentication(inputs.authenticator, inputs.resolver),
    sequencer: eventSequencer({
      bus,
      logger,
      retention: config.realtimeRetention,
      channels: new Set(inputs.modules.realtimeChannels.keys()),
    }),
    allowedOrigins: new Set(config.realtimeOrigins),
  };
}
