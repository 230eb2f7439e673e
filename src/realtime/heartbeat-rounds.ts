// Heartbeats a round at a time, spread over the round: every socket is still pinged once per
// heartbeat interval, but a slice of them per tick rather than all at once. A ping is a write
// (a syscall) per socket; an instance holding 5,000 sockets spent about a third of a second
// pinging them in one go every 15 s (bench:realtime's profile), and every event waited behind it.

/** Ticks per round: the interval is cut into this many slices. */
export const HEARTBEAT_SLICES = 20;

export class HeartbeatRounds<T> {
  readonly #everyone: () => Iterable<T>;
  readonly #beat: (item: T) => void;
  #round: T[] = [];
  #next = 0;
  #perTick = 0;

  /** `everyone`: whom a new round pings (read as it starts); `beat`: one ping. */
  constructor(everyone: () => Iterable<T>, beat: (item: T) => void) {
    this.#everyone = everyone;
    this.#beat = beat;
  }

  /** One slice; called HEARTBEAT_SLICES times per heartbeat interval. One that joined mid-round waits for the next. */
  tick(): void {
    if (this.#next >= this.#round.length) {
      this.#round = [...this.#everyone()];
      this.#next = 0;
      this.#perTick = Math.ceil(this.#round.length / HEARTBEAT_SLICES);
    }
    const end = Math.min(this.#round.length, this.#next + this.#perTick);
    for (; this.#next < end; this.#next += 1) this.#beat(this.#round[this.#next]!);
  }
}
