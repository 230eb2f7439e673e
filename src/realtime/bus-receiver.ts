// What either bus does with a message's text: decode it and hand it to the hub, or skip it with
// a warning. During a rolling deploy an instance of a newer release may write a version this
// one cannot read: it is skipped (logged at most once a minute per reason, with how many were
// skipped since), never guessed at and never allowed to throw out of the connection's handler.

import type { Logger } from 'pino';
import { BUS_VERSION, decodeBusMessage, type BusMessage } from './bus-message.js';

const WARN_EVERY_MS = 60_000;

export function busReceiver(logger: Logger, deliver: (message: BusMessage) => void, now: () => number = Date.now): (text: string) => void {
  const warned = new Map<string, { at: number; skipped: number }>();
  return (text) => {
    const decoded = decodeBusMessage(text);
    if ('unreadable' in decoded) {
      const seen = warned.get(decoded.unreadable);
      if (seen && now() - seen.at < WARN_EVERY_MS) {
        seen.skipped += 1;
        return;
      }
      logger.warn(
        { reason: decoded.unreadable, reads_up_to_version: BUS_VERSION, skipped_since_last_warning: seen?.skipped ?? 0, sample: text.slice(0, 200) },
        'realtime bus message skipped: this instance cannot read it (sockets that missed an event read it from the event log at their next one)',
      );
      warned.set(decoded.unreadable, { at: now(), skipped: 0 });
      return;
    }
    try {
      deliver(decoded.message);
    } catch (error) {
      logger.error({ err: error }, 'realtime bus message could not be delivered');
    }
  };
}
