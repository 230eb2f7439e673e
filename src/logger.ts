// The process logger (pino, Fastify's own). Credentials are redacted by path, and the
// request serializer never includes bodies, so passwords and secrets do not reach logs.

import pino, { type Logger } from 'pino';

export function createLogger(level: string): Logger {
  return pino({
    level,
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
      ],
      censor: '[redacted]',
    },
  });
}
