// graphile-worker logs through our pino logger, so its lines carry the same fields and
// redaction as everything else instead of going to the console.

import { Logger as WorkerLogger } from 'graphile-worker';
import type { Logger } from 'pino';

export function workerLogger(logger: Logger): WorkerLogger {
  const base = logger.child({ component: 'graphile-worker' });
  return new WorkerLogger((scope) => (level, message, meta) => {
    // Its connection errors come as `error`, and carry the pg client that raised them
    // (pg-pool sets err.client): as `err` they get the error serializer, which keeps the
    // stack and summarises the client (no password, cancel key or socket; see loggable.ts).
    const { error, job, ...rest } = (meta ?? {}) as { error?: unknown; job?: { id?: unknown; task_identifier?: unknown; attempts?: unknown } };
    // Its job lines carry the whole queue row (payload included) once per run: the id, task
    // and attempt are what an operator reads; the row is in the queue's table.
    const fields = {
      ...scope,
      ...rest,
      ...(job ? { job: { id: job.id, task: job.task_identifier, attempts: job.attempts } } : {}),
      ...(error === undefined ? {} : { err: error }),
    };
    if (level === 'error') base.error(fields, message);
    else if (level === 'warning') base.warn(fields, message);
    else if (level === 'info') base.info(fields, message);
    else base.debug(fields, message);
  });
}
