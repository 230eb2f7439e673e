// Who is connected to each tenant room, across instances. Each instance announces its own
// rooms on the bus when they change (batched for 100 ms) and all of them every 10 s; another
// instance's word is trusted for 30 s, so a crashed instance's sockets leave presence then.
// The merged count is also what the per-tenant connection limit is measured against.

import type { PresenceEntry } from './bus-message.js';
import { MAX_BUS_MESSAGE_BYTES } from './realtime-bus.js';

interface RemoteRooms {
  readonly rooms: Map<string, readonly PresenceEntry[]>;
  seenAt: number;
}

export interface PresenceOptions {
  readonly instanceId: string;
  /** This instance's entries for a room, computed from its connections. */
  readonly local: (tenantId: string) => readonly PresenceEntry[];
  /** Every room this instance holds connections in. */
  readonly localRooms: () => Iterable<string>;
  readonly announce: (rooms: Record<string, readonly PresenceEntry[]>) => Promise<void>;
  /** A room's merged presence changed. */
  readonly changed: (tenantId: string) => void;
  readonly now: () => number;
  readonly expireAfterMs?: number;
}

export class Presence {
  readonly #options: PresenceOptions;
  readonly #remote = new Map<string, RemoteRooms>();
  readonly #dirty = new Set<string>();
  readonly #expireAfterMs: number;
  #flushTimer: NodeJS.Timeout | undefined;

  constructor(options: PresenceOptions) {
    this.#options = options;
    this.#expireAfterMs = options.expireAfterMs ?? 30_000;
  }

  /** This instance's room changed: tell the others soon, and this room's subscribers now. */
  localChanged(tenantId: string): void {
    this.#dirty.add(tenantId);
    this.#options.changed(tenantId);
    this.#flushTimer ??= setTimeout(() => {
      this.#flushTimer = undefined;
      const rooms = [...this.#dirty];
      this.#dirty.clear();
      void this.#send(rooms);
    }, 100);
    this.#flushTimer.unref?.();
  }

  /** Every room this instance holds, and an empty list for rooms it just left. */
  announceAll(): Promise<void> {
    return this.#send([...new Set([...this.#options.localRooms(), ...this.#dirty])]);
  }

  heard(instanceId: string, rooms: Readonly<Record<string, readonly PresenceEntry[]>>): void {
    if (instanceId === this.#options.instanceId) return;
    let remote = this.#remote.get(instanceId);
    if (!remote) this.#remote.set(instanceId, (remote = { rooms: new Map(), seenAt: 0 }));
    remote.seenAt = this.#options.now();
    for (const [tenantId, entries] of Object.entries(rooms)) {
      if (entries.length === 0) remote.rooms.delete(tenantId);
      else remote.rooms.set(tenantId, entries);
      this.#options.changed(tenantId);
    }
  }

  /** Drops instances not heard from lately, and says which rooms that changed. */
  expire(): void {
    const cutoff = this.#options.now() - this.#expireAfterMs;
    for (const [instanceId, remote] of this.#remote) {
      if (remote.seenAt >= cutoff) continue;
      this.#remote.delete(instanceId);
      for (const tenantId of remote.rooms.keys()) this.#options.changed(tenantId);
    }
  }

  /** The room's members on every instance, each with its connection count. */
  members(tenantId: string): PresenceEntry[] {
    const merged = new Map<string, PresenceEntry>();
    const add = (entry: PresenceEntry) => {
      const key = `${entry.kind}:${entry.id}`;
      const known = merged.get(key);
      merged.set(key, { ...entry, connections: (known?.connections ?? 0) + entry.connections });
    };
    this.#options.local(tenantId).forEach(add);
    const cutoff = this.#options.now() - this.#expireAfterMs;
    for (const remote of this.#remote.values()) if (remote.seenAt >= cutoff) remote.rooms.get(tenantId)?.forEach(add);
    return [...merged.values()];
  }

  /** Connections the tenant holds on every instance. */
  connections(tenantId: string): number {
    return this.members(tenantId).reduce((sum, entry) => sum + entry.connections, 0);
  }

  stop(): void {
    clearTimeout(this.#flushTimer);
  }

  /**
   * Announces in messages the bus can carry (a NOTIFY holds under 8000 bytes). A failed
   * announcement is not retried: the next full one (every 10 s) carries the same state.
   */
  async #send(tenantIds: readonly string[]): Promise<void> {
    let batch: Record<string, readonly PresenceEntry[]> = {};
    let size = 0;
    for (const tenantId of tenantIds) {
      const entries = this.#options.local(tenantId);
      const bytes = JSON.stringify(entries).length + 50;
      if (size + bytes > MAX_BUS_MESSAGE_BYTES - 200 && size > 0) {
        await this.#options.announce(batch).catch(() => {});
        batch = {};
        size = 0;
      }
      // A room too crowded to announce whole is announced by its largest holders.
      batch[tenantId] = bytes > MAX_BUS_MESSAGE_BYTES - 200 ? [...entries].sort((a, b) => b.connections - a.connections).slice(0, 60) : entries;
      size += Math.min(bytes, MAX_BUS_MESSAGE_BYTES - 200);
    }
    if (size > 0) await this.#options.announce(batch).catch(() => {});
  }
}
