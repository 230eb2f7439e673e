// A child process of bench:realtime that holds a share of its client sockets, so that reading
// ~10,000 frames a second does not happen on the event loop that commits the events and keeps
// the score. It opens the sockets it is given, tallies what each receives (events of another
// tenant, gaps, repeats), and records for every delivery the event's number and when it
// arrived, on the clock the parent uses too (benchClock below). Driven over the IPC channel
// (fork), one request at a time: open, clock, measure, count, report, close.

import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';
import { benchClock } from './bench-clock.js';

export interface ClientSocketPlan {
  readonly url: string;
  readonly apiKey: string;
  readonly tenantId: string;
}

export type ClientRequest =
  | { readonly type: 'open'; readonly sockets: readonly ClientSocketPlan[]; readonly width: number }
  | { readonly type: 'clock' }
  | { readonly type: 'measure' }
  | { readonly type: 'count' }
  | { readonly type: 'report' }
  | { readonly type: 'close' };

export interface ClientReport {
  readonly held: number;
  /** Per socket, in the order given: its tenant and how many of its tenant's events it got. */
  readonly sockets: ReadonlyArray<{ readonly tenantId: string; readonly received: number }>;
  readonly foreign: number;
  readonly gaps: number;
  readonly repeats: number;
  /** Every delivery: the event's number (its index in the run) and when it arrived (benchClock). */
  readonly eventNumbers: number[];
  readonly receivedAt: number[];
  /** This process's event-loop delay while measuring, ms past the 10 ms sampling interval. */
  readonly loopDelayMs: { readonly p50: number; readonly p99: number };
}

export type ClientAnswer =
  | { readonly type: 'opened'; readonly count: number; readonly retries: number }
  | { readonly type: 'clock'; readonly now: number }
  | { readonly type: 'measuring' }
  | { readonly type: 'count'; readonly received: number }
  | { readonly type: 'report'; readonly report: ClientReport }
  | { readonly type: 'failed'; readonly error: string };

interface Tally {
  readonly tenantId: string;
  received: number;
  lastSeq: number | undefined;
}

const sockets: WebSocket[] = [];
const tallies: Tally[] = [];
let foreign = 0;
let gaps = 0;
let repeats = 0;
let retries = 0;
const eventNumbers: number[] = [];
const receivedAt: number[] = [];
const loopDelay = monitorEventLoopDelay({ resolution: 10 });

function answer(message: ClientAnswer): void {
  process.send!(message);
}

function openOnce(plan: ClientSocketPlan, tally: Tally): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${plan.url}/v1/realtime?channels=tasks`, { headers: { authorization: `Bearer ${plan.apiKey}` } });
    socket.on('message', (data) => {
      // The time first: parsing and tallying are the client's cost, not the server's.
      const now = benchClock();
      const message = JSON.parse(data.toString()) as { type: string; seq?: number; data?: { tenant?: string; n?: number } };
      if (message.type !== 'event') return;
      tally.received += 1;
      if (message.data?.tenant !== tally.tenantId) foreign += 1;
      if (tally.lastSeq !== undefined) {
        if (message.seq! <= tally.lastSeq) repeats += 1;
        else if (message.seq! > tally.lastSeq + 1) gaps += 1;
      }
      tally.lastSeq = message.seq!;
      eventNumbers.push(message.data!.n!);
      receivedAt.push(now);
    });
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused: ${response.statusCode}`)));
    socket.once('error', reject);
  });
}

/** As a real client does: a 503 (the server shed the upgrade) is retried after a pause. */
async function open(plan: ClientSocketPlan, tally: Tally): Promise<WebSocket> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await openOnce(plan, tally);
    } catch (error) {
      if (attempt >= 10 || !String(error).includes('503')) throw error;
      retries += 1;
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}

async function openAll(plans: readonly ClientSocketPlan[], width: number): Promise<void> {
  const opened: Array<WebSocket | undefined> = plans.map(() => undefined);
  for (const plan of plans) tallies.push({ tenantId: plan.tenantId, received: 0, lastSeq: undefined });
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < plans.length) {
        const index = next++;
        opened[index] = await open(plans[index]!, tallies[index]!);
      }
    }),
  );
  sockets.push(...(opened as WebSocket[]));
}

function report(): ClientReport {
  loopDelay.disable();
  const late = (p: number) => Number(Math.max(0, loopDelay.percentile(p) / 1e6 - 10).toFixed(1));
  return {
    held: sockets.filter((socket) => socket.readyState === WebSocket.OPEN).length,
    sockets: tallies.map(({ tenantId, received }) => ({ tenantId, received })),
    foreign,
    gaps,
    repeats,
    eventNumbers,
    receivedAt,
    loopDelayMs: { p50: late(50), p99: late(99) },
  };
}

process.on('message', (request: ClientRequest) => {
  switch (request.type) {
    case 'open':
      openAll(request.sockets, request.width).then(
        () => answer({ type: 'opened', count: sockets.length, retries }),
        (error: unknown) => answer({ type: 'failed', error: String(error) }),
      );
      return;
    case 'clock':
      answer({ type: 'clock', now: benchClock() });
      return;
    case 'measure':
      loopDelay.enable();
      answer({ type: 'measuring' });
      return;
    case 'count':
      answer({ type: 'count', received: eventNumbers.length });
      return;
    case 'report':
      answer({ type: 'report', report: report() });
      return;
    case 'close':
      for (const socket of sockets) socket.terminate();
      process.disconnect();
      return;
  }
});
