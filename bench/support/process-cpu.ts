// What a process has spent, read from Linux's /proc: CPU time (user + system, all threads) and
// write syscalls. Benches take one reading before and one after a load and divide the difference
// by the requests served, so the figure is per request whatever the machine's other load.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's utime and stime (100 on nearly every Linux). */
const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/**
 * CPU milliseconds the process has used (user + system) since it started; undefined once it has
 * exited. The command name in parentheses may hold spaces, so the fields are counted after it.
 */
export function processCpuMs(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // After "pid (comm) ", field 3 (state) is index 0: utime (14) and stime (15) are 11 and 12.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

/** Write syscalls (write, writev, sendmsg, …) the process has made: /proc/<pid>/io's syscw. Our own children only. */
export function processWriteSyscalls(pid: number): number {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  const match = /^syscw:\s+(\d+)$/m.exec(io);
  if (!match) throw new Error(`/proc/${pid}/io has no syscw line`);
  return Number(match[1]);
}
