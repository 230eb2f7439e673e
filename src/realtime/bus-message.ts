// What instances tell each other over the realtime bus: a batch of sequenced events (one relay
// pass's, several tenants' at once), or one instance's presence in some tenant rooms. Decoded
// defensively: a stray or malformed message is dropped, and so is a malformed event in a batch.

import { isUuid } from '../db/ids.js';
import type { SequencedEvent } from './realtime-event.js';

/** Who is connected in a room: one entry per user, API key or agent, with its connection count. */
export interface PresenceEntry {
  readonly kind: 'user' | 'api_key' | 'agent';
  readonly id: string;
  readonly connections: number;
}

export type BusMessage =
  /** In the relay's order: each tenant's events by ascending sequence. */
  | { readonly kind: 'events'; readonly events: readonly SequencedEvent[] }
  /** The whole of one instance's presence in the rooms named (an empty list: it left the room). */
  | { readonly kind: 'presence'; readonly instanceId: string; readonly rooms: Readonly<Record<string, readonly PresenceEntry[]>> };

export function encodeBusMessage(message: BusMessage): string {
  return JSON.stringify(message);
}

/**
 * One pass's events as few messages as the bus allows: each message stays under `maxBytes`
 * (NOTIFY's payload limit), and the messages, sent in order, keep the events' order.
 */
export function eventMessages(events: readonly SequencedEvent[], maxBytes: number): BusMessage[] {
  const messages: BusMessage[] = [];
  let batch: SequencedEvent[] = [];
  // The envelope around the events, and a comma between two of them.
  let bytes = Buffer.byteLength('{"kind":"events","events":[]}');
  for (const event of events) {
    const size = Buffer.byteLength(JSON.stringify(event)) + 1;
    if (batch.length > 0 && bytes + size > maxBytes) {
      messages.push({ kind: 'events', events: batch });
      batch = [];
      bytes = Buffer.byteLength('{"kind":"events","events":[]}');
    }
    batch.push(event);
    bytes += size;
  }
  if (batch.length > 0) messages.push({ kind: 'events', events: batch });
  return messages;
}

export function decodeBusMessage(text: string): BusMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const message = value as { kind?: unknown; events?: unknown; instanceId?: unknown; rooms?: unknown };
  if (message.kind === 'events' && Array.isArray(message.events)) {
    const events: SequencedEvent[] = [];
    for (const item of message.events) {
      const event = decodeEvent(item);
      if (event) events.push(event);
    }
    return { kind: 'events', events };
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

function decodeEvent(value: unknown): SequencedEvent | undefined {
  const event = value as Partial<SequencedEvent> | null;
  if (typeof event !== 'object' || event === null) return undefined;
  if (!isUuid(event.tenantId) || !Number.isSafeInteger(event.seq) || typeof event.channel !== 'string' || typeof event.type !== 'string') return undefined;
  if (typeof event.data !== 'object' || event.data === null || typeof event.at !== 'number') return undefined;
  return { tenantId: event.tenantId, seq: event.seq!, channel: event.channel, type: event.type, data: event.data, agentId: isUuid(event.agentId) ? event.agentId : null, at: event.at };
}

function isPresenceEntry(value: unknown): value is PresenceEntry {
  const entry = value as Partial<PresenceEntry> | null;
  return (
    typeof entry === 'object' && entry !== null &&
    (entry.kind === 'user' || entry.kind === 'api_key' || entry.kind === 'agent') &&
    typeof entry.id === 'string' && Number.isSafeInteger(entry.connections)
  );
}
