// The close codes a realtime connection ends with, each with one meaning a client can act on.
// 4xxx is the range RFC 6455 leaves to applications; the last three digits echo the HTTP
// status of the same refusal. docs/realtime.md lists them.

export const CLOSE = {
  /** The server is shutting down: reconnect (to another instance) and resume. */
  goingAway: 1001,
  /** The server could not re-verify the connection's access (its database is unreachable): reconnect later. */
  tryAgainLater: 1013,
  /** A message was not JSON, not an object, or not one the protocol knows. */
  protocolError: 4400,
  /** No credential within 5 s of opening, or the one sent was refused. */
  unauthenticated: 4401,
  /** The member was removed, the key revoked, the session ended or the tenant deleted. */
  accessRevoked: 4403,
  /** The access token expired without a `reauthenticate` message carrying a fresh one. */
  tokenExpired: 4408,
  /** A `reauthenticate` token names another user, key or tenant than the connection's. */
  credentialMismatch: 4409,
  /** The client did not read fast enough: its unsent data passed the bound. Reconnect and resume. */
  slowConsumer: 4413,
  /** The tenant is suspended. */
  tenantSuspended: 4423,
  /** The client sent messages faster than the limit. */
  rateLimited: 4429,
  /** The tenant already holds as many connections as its plan allows (first-message authentication). */
  connectionLimit: 4430,
} as const;

export type CloseCode = (typeof CLOSE)[keyof typeof CLOSE];
