// What one server under load costs, process by process: its Node process (CPU, write syscalls)
// and its PostgreSQL backends (CPU), found in pg_stat_activity by the application_name its
// connections carry. PostgreSQL must run on this machine, so its backends' /proc is readable.

import type { ChildProcess } from 'node:child_process';
import { on } from 'node:events';
import type pg from 'pg';
import { processCpuMs, processWriteSyscalls } from './process-cpu.js';

/** What V8's collector did in the server during the measurement (gc-meter.mjs). */
export interface GcUsage {
  readonly scavenges: number;
  readonly scavengeMs: number;
  readonly promotedMB: number;
  readonly newSpaceMB: number;
  readonly markCompacts: number;
  readonly markCompactMs: number;
}

export interface ServerUsage {
  readonly nodeCpuMs: number;
  readonly writeSyscalls: number;
  readonly pgCpuMs: number;
  /** Backends of the server at the end of the measurement. */
  readonly pgBackends: number;
  /** Backends that exited during it: their last CPU is lost, so a nonzero count understates pgCpuMs. */
  readonly pgBackendsGone: number;
  /** Only for a server started with the GC meter. */
  readonly gc?: GcUsage;
}

interface Reading {
  readonly nodeCpuMs: number;
  readonly writeSyscalls: number;
  readonly backendCpuMs: ReadonlyMap<number, number>;
}

/** Sets the application_name a server's connections report, so its backends can be told apart. */
export function withApplicationName(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('application_name', name);
  return parsed.toString();
}

export class ServerMeter {
  readonly #pid: number;

  constructor(
    private readonly monitor: pg.Client,
    private readonly server: ChildProcess,
    private readonly applicationName: string,
  ) {
    this.#pid = server.pid!;
  }

  /** Takes the first reading; the function it returns takes the second and answers the difference. */
  async start(): Promise<() => Promise<ServerUsage>> {
    const metered = this.server.connected;
    if (metered) this.server.send({ gcMeter: 'start' });
    const before = await this.#read();
    return async () => {
      const after = await this.#read();
      const gc = metered ? await this.#stopGcMeter() : undefined;
      let pgCpuMs = 0;
      // A backend that connected during the measurement spent all its CPU in it.
      for (const [pid, cpu] of after.backendCpuMs) pgCpuMs += cpu - (before.backendCpuMs.get(pid) ?? 0);
      return {
        nodeCpuMs: after.nodeCpuMs - before.nodeCpuMs,
        writeSyscalls: after.writeSyscalls - before.writeSyscalls,
        pgCpuMs,
        pgBackends: after.backendCpuMs.size,
        pgBackendsGone: [...before.backendCpuMs.keys()].filter((pid) => !after.backendCpuMs.has(pid)).length,
        ...(gc ? { gc } : {}),
      };
    };
  }

  async #stopGcMeter(): Promise<GcUsage> {
    const answered = (async () => {
      for await (const [message] of on(this.server, 'message')) {
        const gc = (message as { gcMeter?: GcUsage }).gcMeter;
        if (gc) return gc;
      }
      throw new Error(`server process ${this.#pid} closed its channel`);
    })();
    this.server.send({ gcMeter: 'stop' });
    return answered;
  }

  async #read(): Promise<Reading> {
    const { rows } = await this.monitor.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()',
      [this.applicationName],
    );
    const backendCpuMs = new Map<number, number>();
    for (const { pid } of rows) {
      const cpu = processCpuMs(pid);
      if (cpu !== undefined) backendCpuMs.set(pid, cpu);
    }
    const nodeCpuMs = processCpuMs(this.#pid);
    if (nodeCpuMs === undefined) throw new Error(`server process ${this.#pid} (${this.applicationName}) has exited`);
    return { nodeCpuMs, writeSyscalls: processWriteSyscalls(this.#pid), backendCpuMs };
  }
}

/**
 * Transactions the database has committed or rolled back. Backends report them at most once a
 * second while busy and flush the rest about 10 s after going idle (PGSTAT_IDLE_INTERVAL), so
 * a count taken right after a load misses its tail: read it once the servers have idled that long.
 */
export async function transactionCount(monitor: pg.Client): Promise<number> {
  const { rows } = await monitor.query<{ xacts: string }>(
    'SELECT xact_commit + xact_rollback AS xacts FROM pg_stat_database WHERE datname = current_database()',
  );
  return Number(rows[0]!.xacts);
}
