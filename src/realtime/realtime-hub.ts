// One instance's realtime connections, by tenant room. Events from the bus go only to the
// room of the event's tenant; every delivery checks that the connection's access was verified
// by the database within the last few seconds (re-verified every second, and at once when the
// invalidation bus announces a change of the tenant). Heartbeats find dead sockets.

import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { Logger } from 'pino';
import type { CacheInvalidation } from '../cache/cache-invalidation.js';
import type { Clock } from '../clock.js';
import { AppError } from '../http/problems.js';
import type { Plans } from '../plans/plans.js';
import { enterTenant } from '../tenancy/enter-tenant.js';
import type { AccessVerification } from './access-verification.js';
import type { BusMessage, PresenceEntry } from './bus-message.js';
import type { ChannelAccess } from './channel-access.js';
import { CLOSE } from './close-codes.js';
import { eventsAfter, type Backlog } from './event-log.js';
import { HEARTBEAT_SLICES, HeartbeatRounds } from './heartbeat-rounds.js';
import { Presence } from './presence.js';
import type { ClientMessage } from './protocol.js';
import type { RealtimeBus } from './realtime-bus.js';
import { RealtimeConnection, type ConnectionLimits } from './realtime-connection.js';
import type { SequencedEvent } from './realtime-event.js';
import type { RealtimeDatabase } from './realtime-tables.js';
import { presenceOf, sameHolder, type SocketIdentity } from './socket-identity.js';

export interface RealtimeTimings {
  /** How often every connection's access is re-read from the database. */
  readonly verifyEveryMs: number;
  /** A connection whose access has not been confirmed for this long gets nothing more, and is closed (1013). */
  readonly verificationStaleAfterMs: number;
  readonly heartbeatEveryMs: number;
  readonly presenceEveryMs: number;
}

export const DEFAULT_TIMINGS: RealtimeTimings = { verifyEveryMs: 1_000, verificationStaleAfterMs: 5_000, heartbeatEveryMs: 15_000, presenceEveryMs: 10_000 };

export const DEFAULT_LIMITS: ConnectionLimits = { maxBufferedBytes: 1_048_576, maxPendingEvents: 10_000, messagesPerSecond: 5, burst: 20 };

export interface RealtimeHubOptions {
  readonly db: RealtimeDatabase;
  readonly bus: RealtimeBus;
  readonly verification: AccessVerification;
  readonly channels: ChannelAccess;
  readonly plans: Plans;
  readonly invalidation: CacheInvalidation;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly timings?: Partial<RealtimeTimings>;
  readonly limits?: Partial<ConnectionLimits>;
}

export interface JoinRequest {
  readonly since?: number | undefined;
  /** Channels asked for; all the role may read when absent. */
  readonly channels?: readonly string[] | undefined;
}

export class RealtimeHub {
  readonly instanceId = randomUUID();
  readonly #options: RealtimeHubOptions;
  readonly #timings: RealtimeTimings;
  readonly #limits: ConnectionLimits;
  readonly #rooms = new Map<string, Set<RealtimeConnection>>();
  readonly #presence: Presence;
  readonly #heartbeats = new HeartbeatRounds(() => this.#connections(), (connection) => this.#heartbeat(connection));
  readonly #timers: NodeJS.Timeout[] = [];
  #verifying: Promise<void> | undefined;
  #verifyAgain = false;
  #started = false;
  /** Events this instance has handed to sockets, for the benchmark and metrics. */
  delivered = 0;

  constructor(options: RealtimeHubOptions) {
    this.#options = options;
    this.#timings = { ...DEFAULT_TIMINGS, ...options.timings };
    this.#limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.#presence = new Presence({
      instanceId: this.instanceId,
      local: (tenantId) => this.#localPresence(tenantId),
      localRooms: () => this.#rooms.keys(),
      announce: (rooms) => options.bus.publish({ kind: 'presence', instanceId: this.instanceId, rooms }),
      changed: (tenantId) => this.#presenceChanged(tenantId),
      now: () => Date.now(),
    });
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#options.bus.start({ onMessage: (message) => this.#heard(message), onResync: () => this.#catchUpAll() });
    // A change announced for a tenant (a member removed, a role changed, a plan changed) is
    // verified now rather than at the next tick.
    this.#options.invalidation.subscribe((event) => {
      if (event === 'all' || event.scope === 'platform' || this.#rooms.has(event.tenantId)) this.verifyNow();
    });
    const every = (ms: number, work: () => void) => {
      const timer = setInterval(work, ms);
      timer.unref();
      this.#timers.push(timer);
    };
    every(this.#timings.verifyEveryMs, () => this.verifyNow());
    every(this.#timings.heartbeatEveryMs / HEARTBEAT_SLICES, () => this.#heartbeats.tick());
    every(this.#timings.presenceEveryMs, () => {
      this.#presence.expire();
      void this.#presence.announceAll();
    });
  }

  /** Closes every connection as going away (clients reconnect elsewhere and resume). */
  async stop(): Promise<void> {
    this.#started = false;
    for (const timer of this.#timers) clearInterval(timer);
    this.#presence.stop();
    const rooms = [...this.#rooms.keys()];
    for (const connection of this.#connections()) connection.close(CLOSE.goingAway, 'server shutting down');
    this.#rooms.clear();
    if (rooms.length > 0) await this.#options.bus.publish({ kind: 'presence', instanceId: this.instanceId, rooms: Object.fromEntries(rooms.map((id) => [id, []])) }).catch(() => {});
    await this.#verifying;
    await this.#options.verification.close();
    await this.#options.bus.close();
  }

  get connectionCount(): number {
    let count = 0;
    for (const room of this.#rooms.values()) count += room.size;
    return count;
  }

  /** The bus is up: events published now reach this instance. */
  get listening(): boolean {
    return this.#options.bus.connected;
  }

  /** Refuses (plan-limit-reached) when the tenant holds its plan's connections already, on all instances. */
  async assertRoomFor(identity: SocketIdentity): Promise<void> {
    const limit = await this.#options.plans.limitFor(identity.plan, 'realtime_connections');
    if (limit === null) return;
    const current = this.#presence.connections(identity.tenantId);
    if (current >= limit) {
      // The cheapest plan with room for one more, as every plan-limit answer names it.
      const plans = [...(await this.#options.plans.list())].sort((a, b) => a.sortOrder - b.sortOrder);
      const roomy = plans.find((plan) => Object.hasOwn(plan.limits, 'realtime_connections') && (plan.limits.realtime_connections === null || plan.limits.realtime_connections! > current));
      throw new AppError('plan-limit-reached', `the ${identity.plan} plan allows ${limit} realtime connections at once`, {
        metric: 'realtime_connections',
        limit,
        current,
        required_plan: roomy?.key ?? null,
      });
    }
  }

  /** Checks the channels asked for; undefined means all the role may read. */
  channelsFor(identity: SocketIdentity, asked: readonly string[] | undefined): string[] {
    const channels = this.#options.channels;
    if (asked === undefined) return channels.readable(identity);
    for (const channel of asked) {
      if (!channels.exists(channel)) throw new AppError('validation-failed', `no realtime channel "${channel}"`);
      if (!channels.mayRead(identity, channel)) throw new AppError('forbidden', `the ${identity.role} role may not read the ${channel} channel`);
    }
    return [...new Set(asked)];
  }

  /** Admits an authenticated socket to its tenant's room (the credential decided the tenant). */
  join(socket: WebSocket, identity: SocketIdentity, request: JoinRequest): RealtimeConnection {
    const subscriptions = this.channelsFor(identity, request.channels);
    const connection: RealtimeConnection = new RealtimeConnection(socket, identity, {
      channels: this.#options.channels,
      readBacklog: (tenantId: string, after: number, limit: number): Promise<Backlog> =>
        enterTenant({ tenantId, requestId: `realtime:${connection.id}` }, () => this.#options.db.tenant((tx) => eventsAfter(tx, tenantId, after, limit))),
      limits: this.#limits,
      logger: this.#options.logger,
      now: () => this.#options.clock.now().getTime(),
    });
    for (const channel of subscriptions) connection.subscriptions.add(channel);
    socket.on('pong', () => {
      connection.alive = true;
    });
    socket.on('close', () => this.#leave(connection));
    let room = this.#rooms.get(identity.tenantId);
    if (!room) this.#rooms.set(identity.tenantId, (room = new Set()));
    room.add(connection);
    connection.send({
      type: 'ready',
      connectionId: connection.id,
      tenantId: identity.tenantId,
      channels: subscriptions,
      expiresAt: identity.expiresAt === null ? null : new Date(identity.expiresAt).toISOString(),
    });
    // In the room before the log is read: events published meanwhile are held, then follow.
    void connection.begin(request.since);
    this.#presence.localChanged(identity.tenantId);
    return connection;
  }

  /** A message from an admitted connection; `reauthenticate` tokens are checked by the caller. */
  handle(connection: RealtimeConnection, message: Exclude<ClientMessage, { type: 'auth' | 'reauthenticate' }>): void {
    if (message.type === 'unsubscribe') {
      for (const channel of message.channels) connection.subscriptions.delete(channel);
      connection.send({ type: 'subscribed', channels: [...connection.subscriptions] });
      return;
    }
    let added: string[];
    try {
      added = this.channelsFor(connection.identity, message.channels);
    } catch (error) {
      const problem = error as AppError;
      connection.send({ type: 'error', code: problem.code, detail: problem.message });
      return;
    }
    for (const channel of added) connection.subscriptions.add(channel);
    connection.send({ type: 'subscribed', channels: [...connection.subscriptions] });
    if (added.includes('presence')) connection.send({ type: 'presence', members: this.#presence.members(connection.identity.tenantId) });
  }

  /** A fresh credential for the same holder extends the connection; another holder's closes it. */
  reauthenticated(connection: RealtimeConnection, identity: SocketIdentity): void {
    if (!sameHolder(connection.identity, identity)) {
      connection.close(CLOSE.credentialMismatch, 'the new credential is not the connection\'s holder or tenant');
      return;
    }
    connection.update(identity);
    this.#dropUnreadable(connection);
    connection.send({ type: 'reauthenticated', expiresAt: identity.expiresAt === null ? null : new Date(identity.expiresAt).toISOString() });
  }

  /** Re-reads every connection's access now (coalesced with a pass in progress). */
  verifyNow(): void {
    if (this.#verifying) {
      this.#verifyAgain = true;
      return;
    }
    this.#verifying = (async () => {
      do {
        this.#verifyAgain = false;
        await this.#verifyAll().catch((error: unknown) => this.#options.logger.warn({ err: error }, 'realtime access verification failed; retrying'));
      } while (this.#verifyAgain && this.#started);
    })().finally(() => {
      this.#verifying = undefined;
    });
  }

  /** Resolves once a verification pass that started after this call has finished. */
  async verified(): Promise<void> {
    await this.#verifying;
    this.verifyNow();
    await this.#verifying;
  }

  #heard(message: BusMessage): void {
    if (message.kind === 'presence') {
      this.#presence.heard(message.instanceId, message.rooms);
      return;
    }
    for (const event of message.events) this.#deliver(event);
  }

  #deliver(event: SequencedEvent): void {
    const room = this.#rooms.get(event.tenantId);
    if (!room) return;
    const staleBefore = Date.now() - this.#timings.verificationStaleAfterMs;
    for (const connection of room) {
      // The tenant's room holds only connections whose credential decided that tenant;
      // the second comparison is a guard against a bug here, never the rule.
      if (connection.identity.tenantId !== event.tenantId) continue;
      if (connection.verifiedAt < staleBefore) {
        connection.close(CLOSE.tryAgainLater, 'access could not be re-verified; reconnect and resume');
        continue;
      }
      connection.offer(event);
      this.delivered += 1;
    }
  }

  async #verifyAll(): Promise<void> {
    const connections = [...this.#connections()].filter((connection) => !connection.closed);
    if (connections.length === 0) return;
    // Sockets of one credential share one verdict.
    const byCredential = new Map<string, RealtimeConnection[]>();
    for (const connection of connections) {
      const group = byCredential.get(connection.credentialKey);
      if (group) group.push(connection);
      else byCredential.set(connection.credentialKey, [connection]);
    }
    const groups = [...byCredential.values()];
    const now = this.#options.clock.now();
    const verdicts = await this.#options.verification.verify(groups.map((group) => group[0]!.identity), now);
    groups.forEach((group, index) => {
      const verdict = verdicts[index]!;
      for (const connection of group) {
        if (!verdict.live) {
          if (verdict.reason === 'suspended') connection.close(CLOSE.tenantSuspended, 'the tenant is suspended');
          else connection.close(CLOSE.accessRevoked, 'access was revoked');
          continue;
        }
        // Nothing changed (nearly always): confirmed as it is, without rebuilding the identity.
        if (connection.identity.role === verdict.role && connection.identity.plan === verdict.plan) {
          connection.confirmed();
          continue;
        }
        connection.update({ ...connection.identity, role: verdict.role, plan: verdict.plan });
        this.#dropUnreadable(connection);
      }
    });
    const stale = Date.now() - this.#timings.verificationStaleAfterMs;
    for (const connection of connections) if (connection.verifiedAt < stale) connection.close(CLOSE.tryAgainLater, 'access could not be re-verified');
  }

  /** A role lowered mid-connection loses the channels it may no longer read. */
  #dropUnreadable(connection: RealtimeConnection): void {
    for (const channel of connection.subscriptions) {
      if (!this.#options.channels.mayRead(connection.identity, channel)) connection.subscriptions.delete(channel);
    }
  }

  /** A socket that has not answered the previous round's ping is dead. */
  #heartbeat(connection: RealtimeConnection): void {
    if (connection.closed) return;
    if (!connection.alive) {
      connection.socket.terminate();
      return;
    }
    connection.alive = false;
    connection.socket.ping();
  }

  #catchUpAll(): void {
    for (const connection of this.#connections()) connection.catchUp();
  }

  #leave(connection: RealtimeConnection): void {
    connection.ended();
    const tenantId = connection.identity.tenantId;
    const room = this.#rooms.get(tenantId);
    if (!room?.delete(connection)) return;
    if (room.size === 0) this.#rooms.delete(tenantId);
    this.#presence.localChanged(tenantId);
  }

  #localPresence(tenantId: string): PresenceEntry[] {
    const entries = new Map<string, PresenceEntry>();
    for (const connection of this.#rooms.get(tenantId) ?? []) {
      const who = presenceOf(connection.identity);
      const key = `${who.kind}:${who.id}`;
      entries.set(key, { ...who, connections: (entries.get(key)?.connections ?? 0) + 1 });
    }
    return [...entries.values()];
  }

  #presenceChanged(tenantId: string): void {
    const room = this.#rooms.get(tenantId);
    if (!room) return;
    const members = this.#presence.members(tenantId);
    for (const connection of room) {
      if (connection.subscriptions.has('presence') && this.#options.channels.mayRead(connection.identity, 'presence')) {
        connection.send({ type: 'presence', members });
      }
    }
  }

  *#connections(): Iterable<RealtimeConnection> {
    for (const room of this.#rooms.values()) yield* room;
  }
}
