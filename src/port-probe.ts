// Ports are checked before anything slow starts: a taken port is reported in one sentence
// naming the variable that moves it, not as a stack after PostgreSQL has booted.

import { createServer } from 'node:net';

export class PortUnavailableError extends Error {
  override name = 'PortUnavailableError';
}

function listenOnce(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port, host, exclusive: true }, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Throws a PortUnavailableError naming `variable` when nothing can listen on host:port now.
 * A probe, not a reservation: whoever takes the port in the moment before the real listen
 * gets the listener's own error, which is rare enough not to matter.
 */
export async function assertPortFree(port: number, host: string, variable: string): Promise<void> {
  if (port === 0) return;
  try {
    await listenOnce(port, host);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new PortUnavailableError(`port ${port} is already in use (set ${variable} to another port)`);
    if (code === 'EACCES') throw new PortUnavailableError(`port ${port} may not be used by this user (set ${variable} to a port above 1023)`);
    throw error;
  }
}

/** A port nothing listens on at the moment, chosen by the system. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return listenOnce(0, host);
}
