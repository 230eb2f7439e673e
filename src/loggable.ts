// What may reach a log line: pg clients, pools and connections are summarised (they hold
// the password, the cancel key and a socket), secret-named fields are redacted anywhere.

import pino from 'pino';

const REDACTED = '[redacted]';
/** Fields whose value is a credential wherever they appear. */
const SECRET_FIELDS = new Set(['password', 'secretKey', 'secret']);
/** Deeper than this, objects are logged as they are: log fields are shallow, and walking is paid per line. */
const MAX_DEPTH = 6;

type Fields = Record<string, unknown>;

function isObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null;
}

/** A connection string without its password. */
function withoutPassword(value: string): string {
  try {
    const { password } = new URL(value);
    return password ? value.replace(`:${password}@`, `:${REDACTED}@`) : value;
  } catch {
    return REDACTED;
  }
}

/** pg's Client, Pool and Connection, recognised by shape: graphile-worker may bring its own copy of pg. */
function pgSummary(value: Fields): Fields | undefined {
  if (isObject(value.connectionParameters) && 'secretKey' in value) {
    const { host, port, database, user } = value.connectionParameters;
    return { pg: 'Client', host, port, database, user };
  }
  if (Array.isArray(value._clients) && isObject(value.options) && typeof value.connect === 'function') {
    const options = value.options;
    const { host, port, database, user } = options;
    const connectionString = typeof options.connectionString === 'string' ? withoutPassword(options.connectionString) : undefined;
    return { pg: 'Pool', ...(connectionString ? { connectionString } : { host, port, database, user }), clients: value._clients.length };
  }
  if ('parsedStatements' in value && 'stream' in value && '_emitMessage' in value) return { pg: 'Connection' };
  return undefined;
}

function plain(value: object): boolean {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null || Array.isArray(value);
}

function scrub(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (!isObject(value) || depth > MAX_DEPTH) return value;
  const summary = pgSummary(value);
  if (summary) return summary;
  if (seen.has(value)) return '[Circular]';
  // Errors become what pino's err serializer makes of them (type, message, stack, own
  // fields), walked like plain objects: pg-pool sets `client` on the errors it emits.
  // Other class instances (a request, a Buffer) are left to their serializers.
  const isError = value instanceof Error;
  if (!isError && !plain(value)) return value;
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => scrub(item, depth + 1, seen));
  const source = isError ? (pino.stdSerializers.err(value) as unknown as Fields) : value;
  const result: Fields = {};
  for (const [key, field] of Object.entries(source)) result[key] = scrubField(key, field, depth + 1, seen);
  return result;
}

function scrubField(key: string, value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (SECRET_FIELDS.has(key) && value !== undefined && value !== null) return REDACTED;
  if (key === 'connectionString' && typeof value === 'string') return withoutPassword(value);
  return scrub(value, depth, seen);
}

/** The fields of one log line, safe to write; `err` is left to its serializer, loggableError. */
export function loggable(fields: Fields): Fields {
  const seen = new WeakSet<object>();
  const result: Fields = {};
  for (const [key, field] of Object.entries(fields)) result[key] = key === 'err' ? field : scrubField(key, field, 1, seen);
  return result;
}

/** pino's `err` serializer, with the same scrubbing. */
export function loggableError(error: unknown): unknown {
  return scrub(error, 0, new WeakSet());
}
