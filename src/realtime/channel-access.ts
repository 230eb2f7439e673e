// Which channels a connection may read, decided by its role (and, on agent-scoped channels, by
// the agent it acts for), from the channels the registered modules declare. Checked when a
// client subscribes and again for every event delivered, since a role can change mid-connection.

import type { Role } from '../db/tables.js';
import type { RealtimeChannelDeclaration } from '../modules/module.js';
import { roleAtLeast } from '../tenancy/roles.js';
import type { SequencedEvent } from './realtime-event.js';

export interface Reader {
  readonly role: Role;
  /** Set when the credential acts for one agent: agent-scoped channels show only its events. */
  readonly agentId?: string | undefined;
}

export class ChannelAccess {
  readonly #channels: ReadonlyMap<string, RealtimeChannelDeclaration>;

  constructor(channels: ReadonlyMap<string, RealtimeChannelDeclaration>) {
    this.#channels = channels;
  }

  exists(channel: string): boolean {
    return this.#channels.has(channel);
  }

  mayRead(reader: Reader, channel: string): boolean {
    const declared = this.#channels.get(channel);
    return declared !== undefined && roleAtLeast(reader.role, declared.minRole);
  }

  /** Every channel the reader may read: what a connection that names none subscribes to. */
  readable(reader: Reader): string[] {
    return [...this.#channels.keys()].filter((channel) => this.mayRead(reader, channel));
  }

  /** The event's channel is readable, and on an agent-scoped channel it is the reader's agent's. */
  sees(reader: Reader, event: Pick<SequencedEvent, 'channel' | 'agentId'>): boolean {
    if (!this.mayRead(reader, event.channel)) return false;
    if (reader.agentId === undefined || !this.#channels.get(event.channel)!.agentScoped) return true;
    return event.agentId === reader.agentId;
  }
}
