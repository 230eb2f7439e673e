// The rules a single connection keeps without a database: which events its role and agent may
// see, that a slow reader is closed rather than buffered for without bound, and that a gap in
// the sequence is filled from the log before later events go out.

import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { ChannelAccess } from '../../src/realtime/channel-access.js';
import { CLOSE } from '../../src/realtime/close-codes.js';
import type { Backlog } from '../../src/realtime/event-log.js';
import { RealtimeConnection } from '../../src/realtime/realtime-connection.js';
import type { SequencedEvent } from '../../src/realtime/realtime-event.js';
import type { SocketIdentity } from '../../src/realtime/socket-identity.js';

const TENANT = '01a2396a-0000-7000-8000-000000000001';
const AGENT = '01a2396a-0000-7000-8000-0000000000a1';
const OTHER_AGENT = '01a2396a-0000-7000-8000-0000000000a2';

const channels = new ChannelAccess(
  new Map([
    ['tasks', { name: 'tasks', minRole: 'viewer' as const }],
    ['memories', { name: 'memories', minRole: 'viewer' as const, agentScoped: true }],
    ['billing', { name: 'billing', minRole: 'owner' as const }],
  ]),
);

/** Stands in for a ws socket: records what was sent and how it was closed. */
class RecordingSocket {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  sent: string[] = [];
  closedWith: number | undefined;
  send(data: string): void {
    this.sent.push(data);
  }
  close(code: number): void {
    this.closedWith = code;
    this.readyState = 3;
  }
  terminate(): void {}
}

function event(seq: number, fields: Partial<SequencedEvent> = {}): SequencedEvent {
  return { tenantId: TENANT, seq, channel: 'tasks', type: 'task.created', data: { id: `t${seq}` }, agentId: null, at: Date.now(), ...fields };
}

function connection(options: { identity?: Partial<SocketIdentity>; log?: SequencedEvent[]; maxBufferedBytes?: number } = {}) {
  const socket = new RecordingSocket();
  const identity: SocketIdentity = { kind: 'api_key', tenantId: TENANT, keyId: 'k', role: 'member', plan: 'free', expiresAt: null, ...options.identity };
  const log = options.log ?? [];
  const reads: number[] = [];
  const readBacklog = async (_tenant: string, after: number, limit: number): Promise<Backlog> => {
    reads.push(after);
    const latest = log.at(-1)?.seq ?? 0;
    return { events: log.filter((entry) => entry.seq > after).slice(0, limit), latest, truncated: false };
  };
  const created = new RealtimeConnection(socket as unknown as WebSocket, identity, {
    channels,
    readBacklog,
    limits: { maxBufferedBytes: options.maxBufferedBytes ?? 1_000_000, maxPendingEvents: 100, messagesPerSecond: 5, burst: 20 },
    logger: pino({ level: 'silent' }),
    now: () => Date.now(),
  });
  for (const channel of channels.readable(identity)) created.subscriptions.add(channel);
  const seqs = () => socket.sent.map((text) => JSON.parse(text)).filter((message) => message.type === 'event').map((message) => message.seq);
  return { socket, connection: created, reads, seqs };
}

describe('channel access', () => {
  it('lets a role read the channels at or below it, and no undeclared channel', () => {
    expect(channels.readable({ role: 'viewer' })).toEqual(['tasks', 'memories']);
    expect(channels.readable({ role: 'owner' })).toEqual(['tasks', 'memories', 'billing']);
    expect(channels.mayRead({ role: 'owner' }, 'nothing')).toBe(false);
  });

  it("shows an agent's connection only its own agent's memories, and a member's all of them", () => {
    const own = { channel: 'memories', agentId: AGENT };
    const others = { channel: 'memories', agentId: OTHER_AGENT };
    const unowned = { channel: 'memories', agentId: null };
    expect([own, others, unowned].map((item) => channels.sees({ role: 'member', agentId: AGENT }, item))).toEqual([true, false, false]);
    expect([own, others, unowned].map((item) => channels.sees({ role: 'member' }, item))).toEqual([true, true, true]);
    // Channels that are not agent-scoped are read by role alone.
    expect(channels.sees({ role: 'member', agentId: AGENT }, { channel: 'tasks', agentId: null })).toBe(true);
  });
});

describe('a realtime connection', () => {
  it('closes a client that does not read (4413) instead of buffering without bound', async () => {
    const { socket, connection: live } = connection({ maxBufferedBytes: 1_000 });
    await live.begin(undefined);
    socket.bufferedAmount = 5_000;
    live.offer(event(1));
    expect(socket.closedWith).toBe(CLOSE.slowConsumer);
  });

  it('fills a gap from the log before later events go out, and drops repeats', async () => {
    const log = [event(1)];
    const { connection: live, seqs, reads } = connection({ log });
    await live.begin(undefined);
    expect(live.sequence).toBe(1);
    // The bus lost 2 and 3; the log has them by the time 4 arrives.
    log.push(event(2), event(3), event(4));
    live.offer(log[3]!);
    live.offer(log[3]!);
    await new Promise((resolve) => setImmediate(resolve));
    expect(reads).toContain(1);
    expect(seqs()).toEqual([2, 3, 4]);
    log.push(event(5));
    live.offer(log[4]!);
    live.offer(log[2]!);
    expect(seqs()).toEqual([2, 3, 4, 5]);
  });

  it('resumes from a sequence: what was missed, then what arrived while reading, once each', async () => {
    const log = [1, 2, 3].map((seq) => event(seq));
    const { connection: live, seqs } = connection({ log });
    const beginning = live.begin(1);
    // Arrives while the log is being read: held, then delivered after 2 and 3.
    log.push(event(4));
    live.offer(log[2]!);
    live.offer(log[3]!);
    await beginning;
    await new Promise((resolve) => setImmediate(resolve));
    expect(seqs()).toEqual([2, 3, 4]);
  });

  it("hides events of channels the connection's role may not read, but still advances past them", async () => {
    const { connection: viewer, seqs } = connection({ identity: { role: 'viewer' } });
    await viewer.begin(undefined);
    viewer.offer(event(1, { channel: 'billing' }));
    viewer.offer(event(2));
    expect(seqs()).toEqual([2]);
    expect(viewer.sequence).toBe(2);
  });

  it('never delivers an event of another tenant, even if offered one', async () => {
    const { connection: live, seqs } = connection();
    await live.begin(undefined);
    live.offer(event(1, { tenantId: '01a2396a-0000-7000-8000-00000000ffff' }));
    expect(seqs()).toEqual([]);
  });
});
