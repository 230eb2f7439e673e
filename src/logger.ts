// The process logger (pino, Fastify's own). Credentials are redacted by path and by field
// name at any depth, pg clients and pools are summarised (loggable.ts), and the request
// serializer never includes bodies, so passwords and secrets do not reach logs.

import pino, { type DestinationStream, type Logger } from 'pino';
import { loggable, loggableError } from './loggable.js';

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    formatters: { log: loggable },
    serializers: { err: loggableError },
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'headers.authorization',
        '*.password',
        '*.refreshToken',
        '*.accessToken',
        '*.token',
        '*.key',
        // A PostgreSQL error's detail can quote the failing row ("Failing row contains ..."),
        // hashes included; its code, constraint and table say enough to debug.
        'err.detail',
        'err.where',
        'err.cause.detail',
      ],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
