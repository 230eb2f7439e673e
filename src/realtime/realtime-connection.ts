// One client's socket: where it is in its tenant's sequence, what it subscribed to, and the
// rules that keep it honest. Events reach it in sequence order with no gap and no repeat: a
// gap (a resume, a bus message lost) is filled from the event log before later events go out.
// A client that reads too slowly is closed rather than buffered for without bound.

import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { Logger } from 'pino';
import type { ChannelAccess } from './channel-access.js';
import { CLOSE, type CloseCode } from './close-codes.js';
import type { Backlog } from './event-log.js';
import { eventFrame, type ServerMessage } from './protocol.js';
import type { SequencedEvent } from './realtime-event.js';
import { credentialKey, type SocketIdentity } from './socket-identity.js';

export interface ConnectionLimits {
  /** Unsent bytes past which the client counts as too slow and is closed (4413). */
  readonly maxBufferedBytes: number;
  /** Events held while catching up, past which the connection is closed as too slow. */
  readonly maxPendingEvents: number;
  /** Inbound messages: a bucket of `burst` refilled at `messagesPerSecond`; empty closes (4429). */
  readonly messagesPerSecond: number;
  readonly burst: number;
}

export interface ConnectionDeps {
  readonly channels: ChannelAccess;
  readonly readBacklog: (tenantId: string, after: number, limit: number) => Promise<Backlog>;
  readonly limits: ConnectionLimits;
  readonly logger: Logger;
  readonly now: () => number;
}

/** Events read from the log per catch-up round trip. */
const BACKLOG_BATCH = 500;

export class RealtimeConnection {
  readonly id = randomUUID();
  readonly socket: WebSocket;
  readonly subscriptions = new Set<string>();
  identity: SocketIdentity;
  /**
   * credentialKey(identity), kept with it: access is re-read every second for every connection,
   * grouped by this, and building it each time was most of that pass's time (5,000 connections).
   */
  credentialKey: string;
  /** When the database last confirmed this connection's access (ms since epoch, real time). */
  verifiedAt: number;
  /** Answered the last ping. */
  alive = true;
  readonly #deps: ConnectionDeps;
  /** The tenant sequence this connection has been brought to (delivered or not visible to it). */
  #last = 0;
  /** Live events held while the log is read; undefined when not catching up. */
  #pending: SequencedEvent[] | undefined = [];
  #tokens: number;
  #refilledAt: number;
  #closed = false;
  #expiryTimer: NodeJS.Timeout | undefined;

  constructor(socket: WebSocket, identity: SocketIdentity, deps: ConnectionDeps) {
    this.socket = socket;
    this.identity = identity;
    this.credentialKey = credentialKey(identity);
    this.#deps = deps;
    this.verifiedAt = Date.now();
    this.#tokens = deps.limits.burst;
    this.#refilledAt = deps.now();
    this.#armExpiry();
  }

  get closed(): boolean {
    return this.#closed;
  }

  get sequence(): number {
    return this.#last;
  }

  /**
   * Brings the connection to its tenant's present: from `since` (a resume) or from now. Live
   * events that arrive meanwhile are held and follow in order.
   */
  async begin(since: number | undefined): Promise<void> {
    try {
      if (since === undefined) {
        const { latest } = await this.#deps.readBacklog(this.identity.tenantId, Number.MAX_SAFE_INTEGER, 0);
        this.#last = latest;
      } else {
        this.#last = since;
        await this.#readLog();
      }
    } catch (error) {
      this.#failedRead(error);
      return;
    }
    this.send({ type: 'synced', seq: this.#last });
    this.#drainPending();
  }

  /** A live event of this connection's tenant (the hub never offers another tenant's). */
  offer(event: SequencedEvent): void {
    if (this.#closed || event.tenantId !== this.identity.tenantId) return;
    if (this.#pending) {
      if (this.#pending.length >= this.#deps.limits.maxPendingEvents) this.close(CLOSE.slowConsumer, 'too many events held while catching up');
      else this.#pending.push(event);
      return;
    }
    this.#accept(event);
  }

  /** Re-reads the log up to the tenant's present: the bus may have dropped messages. */
  catchUp(): void {
    if (this.#closed || this.#pending) return;
    this.#pending = [];
    void this.#readLog().then(
      () => this.#drainPending(),
      (error: unknown) => this.#failedRead(error),
    );
  }

  /** Sends a message unless the client has fallen too far behind, in which case it is closed. */
  send(message: ServerMessage | string): void {
    if (this.#closed || this.socket.readyState !== this.socket.OPEN) return;
    if (this.socket.bufferedAmount > this.#deps.limits.maxBufferedBytes) {
      this.close(CLOSE.slowConsumer, 'the client does not read fast enough');
      return;
    }
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Takes a token for an inbound message; false (and the connection closed) when none is left. */
  admitMessage(): boolean {
    const now = this.#deps.now();
    const { messagesPerSecond, burst } = this.#deps.limits;
    this.#tokens = Math.min(burst, this.#tokens + ((now - this.#refilledAt) / 1000) * messagesPerSecond);
    this.#refilledAt = now;
    if (this.#tokens < 1) {
      this.close(CLOSE.rateLimited, 'too many messages');
      return false;
    }
    this.#tokens -= 1;
    return true;
  }

  /** A fresh credential for the same holder (re-authentication), or a new role or plan (re-verification). */
  update(identity: SocketIdentity): void {
    const rearm = identity.expiresAt !== this.identity.expiresAt;
    this.identity = identity;
    this.credentialKey = credentialKey(identity);
    this.confirmed();
    if (rearm) this.#armExpiry();
  }

  /** The database has just confirmed the access the connection holds. */
  confirmed(): void {
    // Real time, not the domain clock: staleness is about this process reaching the database.
    this.verifiedAt = Date.now();
  }

  close(code: CloseCode, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#expiryTimer);
    this.#pending = undefined;
    this.#deps.logger.debug({ tenant_id: this.identity.tenantId, connection_id: this.id, code, reason }, 'realtime connection closed by the server');
    this.socket.close(code, reason);
    // A peer that never answers the close handshake does not keep the socket.
    setTimeout(() => this.socket.terminate(), 2_000).unref();
  }

  /** The socket is gone (closed by either side): stop timers. */
  ended(): void {
    this.#closed = true;
    this.#pending = undefined;
    clearTimeout(this.#expiryTimer);
  }

  #accept(event: SequencedEvent): void {
    if (event.seq <= this.#last) return; // seen: a repeat of the bus or of the log
    if (event.seq > this.#last + 1) {
      // A gap: the events in between come from the log first.
      this.#pending = [event];
      void this.#readLog().then(
        () => this.#drainPending(),
        (error: unknown) => this.#failedRead(error),
      );
      return;
    }
    this.#last = event.seq;
    if (this.subscriptions.has(event.channel) && this.#deps.channels.sees(this.identity, event)) this.send(eventFrame(event));
  }

  async #readLog(): Promise<void> {
    for (;;) {
      const backlog = await this.#deps.readBacklog(this.identity.tenantId, this.#last, BACKLOG_BATCH);
      if (this.#closed) return;
      if (backlog.truncated && backlog.latest > this.#last) {
        // Pruned past where the client was: it must reload its state, then follow from here.
        this.#last = backlog.latest;
        this.send({ type: 'resync', seq: backlog.latest });
        return;
      }
      for (const event of backlog.events) {
        if (event.seq !== this.#last + 1) break;
        this.#last = event.seq;
        if (this.subscriptions.has(event.channel) && this.#deps.channels.sees(this.identity, event)) this.send(eventFrame(event));
      }
      if (backlog.events.length < BACKLOG_BATCH || this.#last >= backlog.latest) return;
    }
  }

  #drainPending(): void {
    const held = this.#pending ?? [];
    this.#pending = undefined;
    for (const [index, event] of held.entries()) {
      if (this.#closed) return;
      this.#accept(event);
      // A gap found while draining starts another read; the rest waits behind it.
      const reading = this.#pending as SequencedEvent[] | undefined;
      if (reading) {
        reading.push(...held.slice(index + 1));
        return;
      }
    }
  }

  #failedRead(error: unknown): void {
    this.#deps.logger.warn({ err: error, tenant_id: this.identity.tenantId, connection_id: this.id }, 'realtime event log unreadable; closing the connection');
    this.close(CLOSE.tryAgainLater, 'events could not be read; reconnect and resume');
  }

  #armExpiry(): void {
    clearTimeout(this.#expiryTimer);
    const expiresAt = this.identity.expiresAt;
    if (expiresAt === null) return;
    const delay = Math.max(0, expiresAt - this.#deps.now());
    // setTimeout holds at most ~24.8 days; a longer-lived key is re-armed on each re-verification.
    if (delay > 2 ** 31 - 1) return;
    this.#expiryTimer = setTimeout(() => this.close(CLOSE.tokenExpired, 'the credential expired; reconnect with a fresh one'), delay);
    this.#expiryTimer.unref();
  }
}
