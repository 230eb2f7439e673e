// The messages of GET /v1/realtime, both ways. Client messages are parsed strictly: anything
// else closes the connection with 4400 (a client that speaks the protocol never sends one).

import type { PresenceEntry } from './bus-message.js';
import type { SequencedEvent } from './realtime-event.js';

export type ClientMessage =
  /** The first message when the upgrade carried no credential (browsers): within 5 s. */
  | { readonly type: 'auth'; readonly token: string; readonly since?: number | undefined; readonly channels?: readonly string[] | undefined }
  /** A fresh access token for the same user and tenant, before the current one expires. */
  | { readonly type: 'reauthenticate'; readonly token: string }
  | { readonly type: 'subscribe'; readonly channels: readonly string[] }
  | { readonly type: 'unsubscribe'; readonly channels: readonly string[] };

export type ServerMessage =
  | { readonly type: 'ready'; readonly connectionId: string; readonly tenantId: string; readonly channels: readonly string[]; readonly expiresAt: string | null }
  /** Caught up: `seq` is where the connection now stands; resume from the last seq seen. */
  | { readonly type: 'synced'; readonly seq: number }
  /** Events the client missed are no longer kept: reload state over the API, then follow from `seq`. */
  | { readonly type: 'resync'; readonly seq: number }
  | { readonly type: 'subscribed'; readonly channels: readonly string[] }
  | { readonly type: 'reauthenticated'; readonly expiresAt: string | null }
  | { readonly type: 'presence'; readonly members: readonly PresenceEntry[] }
  /** A request the server refused without closing: a channel the role may not read, say. */
  | { readonly type: 'error'; readonly code: string; readonly detail: string };

const MAX_TOKEN_LENGTH = 4_096;
const MAX_CHANNELS = 32;

/** Undefined for anything but a well-formed client message. */
export function parseClientMessage(text: string): ClientMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const message = value as Record<string, unknown>;
  switch (message.type) {
    case 'auth': {
      if (!isToken(message.token)) return undefined;
      if (message.since !== undefined && !isSequence(message.since)) return undefined;
      if (message.channels !== undefined && !isChannelList(message.channels)) return undefined;
      return { type: 'auth', token: message.token, since: message.since as number | undefined, channels: message.channels as string[] | undefined };
    }
    case 'reauthenticate':
      return isToken(message.token) ? { type: 'reauthenticate', token: message.token } : undefined;
    case 'subscribe':
    case 'unsubscribe':
      return isChannelList(message.channels) ? { type: message.type, channels: message.channels } : undefined;
    default:
      return undefined;
  }
}

export function isSequence(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isToken(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_TOKEN_LENGTH && /^\S+$/.test(value);
}

function isChannelList(value: unknown): value is string[] {
  return Array.isArray(value) && value.length <= MAX_CHANNELS && value.every((channel) => typeof channel === 'string' && channel.length <= 40);
}

/** One event's frame, serialized once however many connections it goes to. */
const frames = new WeakMap<SequencedEvent, string>();

export function eventFrame(event: SequencedEvent): string {
  let frame = frames.get(event);
  if (frame === undefined) {
    frame = JSON.stringify({ type: 'event', seq: event.seq, channel: event.channel, event: event.type, data: event.data, ...(event.agentId ? { agentId: event.agentId } : {}), at: event.at });
    frames.set(event, frame);
  }
  return frame;
}
