// A webhook receiver on 127.0.0.1 for tests: it records every request it gets (headers and raw
// body) and answers with the statuses a test scripts, then 200.

import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly path: string;
}

export interface Receiver {
  readonly url: string;
  readonly port: number;
  readonly received: ReceivedRequest[];
  /** The next answers, in order; once used up, 200. */
  script(...answers: Array<number | { status: number; headers?: Record<string, string>; body?: string }>): void;
  close(): Promise<void>;
}

export async function startReceiver(host = '127.0.0.1'): Promise<Receiver> {
  const received: ReceivedRequest[] = [];
  let answers: Array<{ status: number; headers?: Record<string, string>; body?: string }> = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), path: request.url ?? '' });
      const answer = answers.shift() ?? { status: 200, body: 'ok' };
      response.writeHead(answer.status, answer.headers ?? {});
      response.end(answer.body ?? `answer ${answer.status}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}/hook`,
    port,
    received,
    script: (...next) => {
      answers = next.map((answer) => (typeof answer === 'number' ? { status: answer } : answer));
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
