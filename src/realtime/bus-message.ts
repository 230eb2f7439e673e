// What instances tell each other over the realtime bus: a sequenced event, or one instance's
// presence in some tenant rooms. Decoded defensively: a stray or malformed message is dropped.

import { isUuid } from '../db/ids.js';
import type { SequencedEvent } from './realtime-event.js';

/** Who is connected in a room: one entry per user, API key or agent, with its connection count. */
export interface PresenceEntry {
  readonly kind: 'user' | 'api_key' | 'agent';
  readonly id: string;
  readonly connections: number;
}

export type BusMessage =
  | { readonly kind: 'event'; readonly event: SequencedEvent }
  /** The whole of one instance's presence in the rooms named (an empty list: it left the room). */
  | { readonly kind: 'presence'; readonly instanceId: string; readonly rooms: Readonly<Record<string, readonly PresenceEntry[]>> };

export function encodeBusMessage(message: BusMessage): string {
  return JSON.stringify(message);
}

export function decodeBusMessage(text: string): BusMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const message = value as { kind?: unknown; event?: Partial<SequencedEvent>; instanceId?: unknown; rooms?: unknown };
  if (message.kind === 'event') {
    const event = message.event;
    if (!event || !isUuid(event.tenantId) || !Number.isSafeInteger(event.seq) || typeof event.channel !== 'string' || typeof event.type !== 'string') return undefined;
    if (typeof event.data !== 'object' || event.data === null || typeof event.at !== 'number') return undefined;
    return { kind: 'event', event: { tenantId: event.tenantId, seq: event.seq!, channel: event.channel, type: event.type, data: event.data, agentId: isUuid(event.agentId) ? event.agentId : null, at: event.at } };
  }
  if (message.kind === 'presence' && typeof message.instanceId === 'string' && typeof message.rooms === 'object' && message.rooms !== null) {
    const rooms: Record<string, PresenceEntry[]> = {};
    for (const [tenantId, entries] of Object.entries(message.rooms as Record<string, unknown>)) {
      if (!isUuid(tenantId) || !Array.isArray(entries)) return undefined;
      rooms[tenantId] = entries.filter(isPresenceEntry);
    }
    return { kind: 'presence', instanceId: message.instanceId, rooms };
  }
  return undefined;
}

function isPresenceEntry(value: unknown): value is PresenceEntry {
  const entry = value as Partial<PresenceEntry> | null;
  return (
    typeof entry === 'object' && entry !== null &&
    (entry.kind === 'user' || entry.kind === 'api_key' || entry.kind === 'agent') &&
    typeof entry.id === 'string' && Number.isSafeInteger(entry.connections)
  );
}
