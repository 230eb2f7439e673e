// Heartbeats go out a slice per tick, not all at once (5,000 pings in one go held an instance's
// event loop for about a third of a second), and still reach every socket once per round.

import { describe, expect, it } from 'vitest';
import { HEARTBEAT_SLICES, HeartbeatRounds } from '../../src/realtime/heartbeat-rounds.js';

describe('heartbeat rounds', () => {
  it('pings every socket once per round, at most a slice of them per tick', () => {
    const sockets = Array.from({ length: 1_000 }, (_, index) => index);
    const pinged: number[][] = [];
    const rounds = new HeartbeatRounds(() => sockets, (socket) => pinged.at(-1)!.push(socket));
    for (let tick = 0; tick < HEARTBEAT_SLICES; tick += 1) {
      pinged.push([]);
      rounds.tick();
    }
    const perTick = Math.ceil(sockets.length / HEARTBEAT_SLICES);
    for (const slice of pinged) expect(slice.length).toBeLessThanOrEqual(perTick);
    expect(pinged.flat().sort((a, b) => a - b)).toEqual(sockets);
    // The next tick starts the next round from the first socket.
    pinged.push([]);
    rounds.tick();
    expect(pinged.at(-1)![0]).toBe(0);
  });

  it('takes a socket that joined mid-round in the next round, and pings none while there are none', () => {
    const sockets = Array.from({ length: 40 }, (_, index) => index);
    const pinged: number[] = [];
    const rounds = new HeartbeatRounds(() => sockets, (socket) => pinged.push(socket));
    rounds.tick();
    sockets.push(40);
    for (let tick = 1; tick < HEARTBEAT_SLICES; tick += 1) rounds.tick();
    expect(pinged).not.toContain(40);
    rounds.tick();
    for (let tick = 1; tick < HEARTBEAT_SLICES; tick += 1) rounds.tick();
    expect(pinged.filter((socket) => socket === 40)).toHaveLength(1);
    const idle = new HeartbeatRounds<number>(() => [], () => {
      throw new Error('pinged nobody');
    });
    idle.tick();
  });
});
