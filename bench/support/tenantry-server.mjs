// Tenantry as bench:peers, bench:memories and bench:realtime run it: the production entry point
// (startServer: the request login, the configured request bounds, the job worker and the outbox
// relay) with nothing added, in its own process, from the compiled build (`npm run build`) as
// `npm start` runs it, so the figures are not those of the TypeScript loader's output (tsx keeps
// function names with a helper call per closure). Logs go to stderr so stdout carries only the
// address line the bench waits for.

import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { loadConfig } from '../../dist/config.js';
import { createLogger } from '../../dist/logger.js';
import { wakeLocalRelays } from '../../dist/outbox/local-relays.js';
import { startServer } from '../../dist/server.js';

const config = loadConfig({ ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'warn' });
const logger = createLogger(config.logLevel, process.stderr);
const server = await startServer(config, logger);
process.stdout.write(JSON.stringify({ address: server.address }) + '\n');

// BENCH_WAKE_ON_STDIN=1: each byte read on stdin wakes this process's outbox relay in memory,
// as a commit in this process does once it has committed (recordEffect, through
// outbox/local-relays.js). A bench that commits from its own process writes a byte after each
// commit, so the relay is woken the way a server that made the commit would wake it, with no
// NOTIFY (which costs PostgreSQL a transaction and wakes every instance's relay). Bytes read
// together wake it as many times, which a relay folds into the pass it runs or the one after.
if (process.env.BENCH_WAKE_ON_STDIN === '1') {
  process.stdin.on('data', (bytes) => {
    for (let byte = 0; byte < bytes.length; byte += 1) wakeLocalRelays();
  });
  // The bench gone, the pipe closes; the server goes on until SIGTERM as before.
  process.stdin.on('error', () => {});
}

// BENCH_CPU_PROFILE=<file>: SIGUSR2 starts a CPU profile and SIGTERM writes it there, so a bench
// can profile its measured rounds alone (node's --cpu-prof would include start-up and warm-up).
// With two servers (bench:realtime), `{pid}` in the name is each one's process id.
const profileFile = process.env.BENCH_CPU_PROFILE?.replaceAll('{pid}', String(process.pid));
let profiler;
if (profileFile) {
  process.on('SIGUSR2', () => {
    profiler ??= (async () => {
      const session = new Session();
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
      return session;
    })();
  });
}

process.once('SIGTERM', () => {
  void (async () => {
    if (profiler) {
      const session = await profiler;
      const { profile } = await session.post('Profiler.stop');
      await writeFile(profileFile, JSON.stringify(profile));
    }
    await server.stop();
    process.exit(0);
  })();
});
