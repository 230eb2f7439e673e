// What instances tell each other over the realtime bus: a batch of sequenced events (one relay
// pass's, several tenants' at once), or one instance's presence in some tenant rooms. Decoded
// defensively: a stray or malformed message is dropped, and so is a malformed event in a batch.
//
// Versions, since instances of two releases share the bus during a rolling deploy:
//   1 (no `v`): `{kind:"event", event}` one event a message (the first release), or
//       `{kind:"events", events:[…]}` (the second), and `{kind:"presence", …}`.
//   2: the same shapes with `"v":2`. A version-1 reader ignores `v`, so it reads these too.
// A reader takes its own version and every older one; a message of a newer version is skipped
// (the receiving bus logs it), never guessed at: a socket that missed an event that way finds
// the gap at its next event and reads the event log. A change of shape that an older reader
// could misread needs a new version, and ships in two steps: first the release that reads it,
// then the one that writes it.

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

/** The version this instance writes, and the newest it reads. */
export const BUS_VERSION = 2;

/** A message read from the bus, or why it was not. */
export type DecodedBusMessage = { readonly message: BusMessage } | { readonly unreadable: string };

export function encodeBusMessage(message: BusMessage): string {
  return JSON.stringify({ v: BUS_VERSION, ...message });
}

/** The bytes encodeBusMessage() puts around a batch's events. */
const EVENTS_ENVELOPE_BYTES = Buffer.byteLength(encodeBusMessage({ kind: 'events', events: [] }));

/**
 * An `events` message as text, split around its events: what comes before the first and after
 * the last (the events go in between, comma-separated). For the sequencer's statement, which
 * writes the LISTEN/NOTIFY bus's messages in SQL (sequence-events.ts): its events carry the
 * fields of SequencedEvent, which decodeEvent() reads.
 */
export const EVENTS_ENVELOPE = (() => {
  const empty = encodeBusMessage({ kind: 'events', events: [] });
  const at = empty.lastIndexOf('[]') + 1;
  return { head: empty.slice(0, at), tail: empty.slice(at), bytes: EVENTS_ENVELOPE_BYTES };
})();

/**
 * One pass's events as few messages as the bus allows: each message stays under `maxBytes`
 * (NOTIFY's payload limit), and the messages, sent in order, keep the events' order.
 */
export function eventMessages(events: readonly SequencedEvent[], maxBytes: number): BusMessage[] {
  const messages: BusMessage[] = [];
  let batch: SequencedEvent[] = [];
  // The envelope around the events, and a comma between two of them.
  let bytes = EVENTS_ENVELOPE_BYTES;
  for (const event of events) {
    const size = Buffer.byteLength(JSON.stringify(event)) + 1;
    if (batch.length > 0 && bytes + size > maxBytes) {
      messages.push({ kind: 'events', events: batch });
      batch = [];
      bytes = EVENTS_ENVELOPE_BYTES;
    }
    batch.push(event);
    bytes += size;
  }
  if (batch.length > 0) messages.push({ kind: 'events', events: batch });
  return messages;
}

export function decodeBusMessage(text: string): DecodedBusMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { unreadable: 'not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { unreadable: 'not an object' };
  const message = value as { v?: unknown; kind?: unknown; event?: unknown; events?: unknown; instanceId?: unknown; rooms?: unknown };
  const version = message.v ?? 1;
  if (!Number.isSafeInteger(version) || (version as number) < 1) return { unreadable: `version ${JSON.stringify(message.v)} is not one` };
  if ((version as number) > BUS_VERSION) return { unreadable: `version ${version as number} is newer than this instance reads (${BUS_VERSION})` };
  if (message.kind === 'events' && Array.isArray(message.events)) {
    const events: SequencedEvent[] = [];
    for (const item of message.events) {
      const event = decodeEvent(item);
      if (event) events.push(event);
    }
    return { message: { kind: 'events', events } };
  }
  // Version 1's first form, one event a message, as the first release's relay sends it.
  if (message.kind === 'event' && version === 1) {
    const event = decodeEvent(message.event);
    return event ? { message: { kind: 'events', events: [event] } } : { unreadable: 'a malformed event' };
  }
  if (message.kind === 'presence' && typeof message.instanceId === 'string' && typeof message.rooms === 'object' && message.rooms !== null) {
    const rooms: Record<string, PresenceEntry[]> = {};
    for (const [tenantId, entries] of Object.entries(message.rooms as Record<string, unknown>)) {
      if (!isUuid(tenantId) || !Array.isArray(entries)) return { unreadable: 'a malformed presence message' };
      rooms[tenantId] = entries.filter(isPresenceEntry);
    }
    return { message: { kind: 'presence', instanceId: message.instanceId, rooms } };
  }
  return { unreadable: `no message of kind ${JSON.stringify(message.kind)} in version ${version as number}` };
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
