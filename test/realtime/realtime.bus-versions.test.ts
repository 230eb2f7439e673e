// The bus format across a rolling deploy: messages carry a version; an instance reads its own
// and the previous release's (no `v`: one `event` a message, or `events` batches), and skips
// with a logged warning a newer version it cannot read, without throwing and without
// delivering anything from it. Pure (no database): the bus end to end is in the events test.

import pino from 'pino';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BUS_VERSION, decodeBusMessage, encodeBusMessage, eventMessages, type BusMessage } from '../../src/realtime/bus-message.js';
import { busReceiver } from '../../src/realtime/bus-receiver.js';
import type { SequencedEvent } from '../../src/realtime/realtime-event.js';

const TENANT = '0190f5a2-7c1e-7a4b-9c3d-2e1f0a9b8c7d';
const event: SequencedEvent = { tenantId: TENANT, seq: 7, channel: 'tasks', type: 'task.created', data: { id: 'x' }, agentId: null, at: 1_700_000_000_000 };

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, new Writable({ write(chunk, _encoding, done) { lines.push(JSON.parse(String(chunk))); done(); } }));
  return { logger, lines };
}

describe('bus message versions', () => {
  it('writes its version, in a shape the previous release reads (it ignores `v`)', () => {
    const text = encodeBusMessage({ kind: 'events', events: [event] });
    const raw = JSON.parse(text);
    expect(raw).toMatchObject({ v: BUS_VERSION, kind: 'events', events: [event] });
    // The previous release's decoder looked only at kind and events.
    expect(raw.kind === 'events' && Array.isArray(raw.events)).toBe(true);
    expect(decodeBusMessage(text)).toEqual({ message: { kind: 'events', events: [event] } });
  });

  it("reads the previous release's messages: unversioned batches, single events and presence", () => {
    expect(decodeBusMessage(JSON.stringify({ kind: 'events', events: [event] }))).toEqual({ message: { kind: 'events', events: [event] } });
    expect(decodeBusMessage(JSON.stringify({ kind: 'event', event }))).toEqual({ message: { kind: 'events', events: [event] } });
    const presence = { kind: 'presence', instanceId: 'i-1', rooms: { [TENANT]: [{ kind: 'user', id: 'u', connections: 2 }] } };
    expect(decodeBusMessage(JSON.stringify(presence))).toEqual({ message: presence });
  });

  it('skips a newer version, a malformed message and garbage, saying why, without throwing', () => {
    const newer = decodeBusMessage(JSON.stringify({ v: BUS_VERSION + 1, kind: 'events', events: [event] }));
    expect(newer).toEqual({ unreadable: `version ${BUS_VERSION + 1} is newer than this instance reads (${BUS_VERSION})` });
    // `event` (one a message) was version 1's only; under version 2 it is not a message.
    expect('unreadable' in decodeBusMessage(JSON.stringify({ v: 2, kind: 'event', event }))).toBe(true);
    expect('unreadable' in decodeBusMessage(JSON.stringify({ kind: 'event', event: { ...event, tenantId: 'not-a-uuid' } }))).toBe(true);
    for (const text of ['', 'null', '[]', '42', '{"v":"2","kind":"events","events":[]}', '{"v":0}', '{"kind":"presence","instanceId":1}', '{']) {
      expect('unreadable' in decodeBusMessage(text), text).toBe(true);
    }
  });

  it('keeps each batch under the size limit with the version in the envelope', () => {
    const many = Array.from({ length: 200 }, (_, index) => ({ ...event, seq: index + 1, data: { id: 'y'.repeat(100) } }));
    const messages = eventMessages(many, 7_000);
    expect(messages.length).toBeGreaterThan(1);
    for (const message of messages) expect(Buffer.byteLength(encodeBusMessage(message))).toBeLessThanOrEqual(7_000);
    expect(messages.flatMap((message) => (message.kind === 'events' ? message.events.map((one) => one.seq) : []))).toEqual(many.map((one) => one.seq));
  });

  it('the receiver delivers what it reads, and logs what it skips once a minute per reason, counting the rest', () => {
    const { logger, lines } = capture();
    const delivered: BusMessage[] = [];
    let clock = 0;
    const receive = busReceiver(logger, (message) => delivered.push(message), () => clock);
    const newer = JSON.stringify({ v: 99, kind: 'events', events: [event] });
    receive(newer);
    receive(newer);
    receive(JSON.stringify({ kind: 'event', event }));
    clock = 61_000;
    receive(newer);
    expect(delivered).toEqual([{ kind: 'events', events: [event] }]);
    const warnings = lines.filter((line) => line.level === 40);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatchObject({ reason: `version 99 is newer than this instance reads (${BUS_VERSION})`, skipped_since_last_warning: 0 });
    expect(warnings[1]).toMatchObject({ skipped_since_last_warning: 1 });
  });

  it('a hub that throws on a message is logged, not thrown out of the bus connection', () => {
    const { logger, lines } = capture();
    const receive = busReceiver(logger, () => {
      throw new Error('hub bug');
    });
    expect(() => receive(encodeBusMessage({ kind: 'events', events: [event] }))).not.toThrow();
    expect(lines.some((line) => line.level === 50)).toBe(true);
  });
});
