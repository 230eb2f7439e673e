// A Redis server of the test's own on a free port (never the shared one), which a fault
// test may stall with SIGSTOP: connections stay open and nothing answers.

import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { redisAnswers } from '../../support/redis-probe.js';

export interface OwnRedis {
  readonly url: string;
  stall(): { resume(): void };
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  const server: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const url = `redis://127.0.0.1:${port}`;
  for (let waited = 0; !(await redisAnswers(url, 500)); waited += 50) {
    if (waited > 10_000 || server.exitCode !== null) throw new Error(`redis-server did not start on port ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url,
    stall() {
      server.kill('SIGSTOP');
      return { resume: () => server.kill('SIGCONT') };
    },
    async stop() {
      if (server.exitCode !== null) return;
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGCONT');
      server.kill('SIGTERM');
      await exited;
    },
  };
}
