// A test client of GET /v1/realtime over a real socket: it records every message and the close
// code, and waits for either with a deadline.

import WebSocket from 'ws';

export interface Received {
  readonly type: string;
  readonly seq?: number;
  readonly channel?: string;
  readonly event?: string;
  readonly data?: Record<string, unknown>;
  readonly [field: string]: unknown;
}

export interface RealtimeClient {
  readonly socket: WebSocket;
  readonly messages: Received[];
  /** Events only, in arrival order. */
  events(): Received[];
  send(message: unknown): void;
  waitFor(predicate: (message: Received) => boolean, timeoutMs?: number): Promise<Received>;
  /** Resolves with the close code (and reason) once the socket is closed. */
  closed(timeoutMs?: number): Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
}

export interface ConnectOptions {
  readonly token?: string;
  readonly origin?: string;
  readonly query?: string;
  readonly headers?: Record<string, string>;
}

/** Opens a socket; rejects with the HTTP status when the upgrade is refused. */
export function connect(baseUrl: string, options: ConnectOptions = {}): Promise<RealtimeClient> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/v1/realtime${options.query ? `?${options.query}` : ''}`, {
    headers,
    ...(options.origin ? { origin: options.origin } : {}),
  });
  const messages: Received[] = [];
  const waiters = new Set<() => void>();
  let closedWith: { code: number; reason: string } | undefined;
  socket.on('message', (data) => {
    messages.push(JSON.parse(data.toString()) as Received);
    for (const wake of waiters) wake();
  });
  socket.on('close', (code, reason) => {
    closedWith = { code, reason: reason.toString() };
    for (const wake of waiters) wake();
  });
  const until = <T>(check: () => T | undefined, timeoutMs: number, what: string) =>
    new Promise<T>((resolve, reject) => {
      const attempt = () => {
        const found = check();
        if (found === undefined) return false;
        clearTimeout(timer);
        waiters.delete(wake);
        resolve(found);
        return true;
      };
      const wake = () => void attempt();
      const timer = setTimeout(() => {
        waiters.delete(wake);
        reject(new Error(`${what} not seen within ${timeoutMs} ms; got ${JSON.stringify(messages.slice(-5))} close ${JSON.stringify(closedWith)}`));
      }, timeoutMs);
      waiters.add(wake);
      attempt();
    });
  const client: RealtimeClient = {
    socket,
    messages,
    events: () => messages.filter((message) => message.type === 'event'),
    send: (message) => socket.send(JSON.stringify(message)),
    waitFor: (predicate, timeoutMs = 10_000) => until(() => messages.find(predicate), timeoutMs, 'message'),
    closed: (timeoutMs = 10_000) => until(() => closedWith, timeoutMs, 'close'),
    close: async () => {
      if (closedWith) return;
      socket.close();
      await client.closed();
    },
  };
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(client));
    socket.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => reject(Object.assign(new Error(`upgrade refused: ${response.statusCode} ${body}`), { status: response.statusCode, body })));
    });
    socket.once('error', reject);
  });
}
