// Every error Tenantry answers with: a stable code, its HTTP status and title.
// Codes are never reused; docs/errors.md lists them and a test keeps the two in step.

export const PROBLEMS = {
  'validation-failed': { status: 400, title: 'The request is not valid' },
  'malformed-json': { status: 400, title: 'The request body is not valid JSON' },
  'tenant-required': { status: 400, title: 'No tenant was named for a tenant-scoped request' },
  'bad-url': { status: 400, title: 'The request URL is not valid' },
  'malformed-request': { status: 400, title: 'The request is not valid HTTP' },
  'unauthenticated': { status: 401, title: 'Authentication is required' },
  'invalid-credentials': { status: 401, title: 'The credentials are not valid' },
  'token-expired': { status: 401, title: 'The access token has expired' },
  'forbidden': { status: 403, title: 'The credential may not do this' },
  'signup-disabled': { status: 403, title: 'Open sign-up is switched off' },
  'tenant-mismatch': { status: 403, title: 'The request names a different tenant than its credential' },
  'not-a-member': { status: 403, title: 'The user is not a member of this tenant' },
  'tenant-suspended': { status: 403, title: 'The tenant is suspended' },
  'feature-not-in-plan': { status: 403, title: "The tenant's plan does not include this feature" },
  'plan-limit-reached': { status: 403, title: "The plan's limit for this resource is reached" },
  'email-unverified': { status: 403, title: 'The email address is not verified' },
  'not-found': { status: 404, title: 'The resource does not exist' },
  'tenant-not-found': { status: 404, title: 'The tenant does not exist' },
  'route-not-found': { status: 404, title: 'No such route' },
  'method-not-allowed': { status: 405, title: 'The route does not allow this method' },
  'request-timeout': { status: 408, title: 'The request did not arrive in time' },
  'slug-taken': { status: 409, title: 'The slug is already taken' },
  'subdomain-taken': { status: 409, title: 'The subdomain is already taken' },
  'conflict': { status: 409, title: 'The request conflicts with the current state' },
  'last-owner': { status: 409, title: 'A tenant must keep at least one owner' },
  'access-changed': { status: 409, title: 'Your access changed while the request was on its way' },
  'payload-too-large': { status: 413, title: 'The request body is too large' },
  'uri-too-long': { status: 414, title: 'A segment of the request path is too long' },
  'unsupported-media-type': { status: 415, title: 'The request body must be application/json' },
  'quota-exceeded': { status: 429, title: "The plan's quota for this billing period is used up" },
  'rate-limited': { status: 429, title: 'Too many requests for this tenant' },
  'user-rate-limited': { status: 429, title: 'Too many requests for this user' },
  'sign-in-throttled': { status: 429, title: 'Too many sign-in attempts from this address or for this email' },
  'erasure-throttled': { status: 429, title: 'Too many erasure attempts for this user' },
  'tenant-read-only': { status: 423, title: 'The tenant is suspended and read-only' },
  'header-too-large': { status: 431, title: 'The request headers are too large' },
  'internal': { status: 500, title: 'Internal server error' },
  'service-unavailable': { status: 503, title: 'A dependency is unavailable' },
  'database-unavailable': { status: 503, title: 'The database is unavailable' },
  'overloaded': { status: 503, title: 'The server is too busy to take this request' },
  'webhook-url-refused': { status: 400, title: 'The webhook address is not one the server will call' },
  'webhook-signing-unavailable': { status: 503, title: 'Webhook signing is not configured' },
  'export-in-progress': { status: 409, title: 'An export of this tenant is still being written' },
  'invalid-download-link': { status: 403, title: 'The download link is not valid' },
  'download-link-expired': { status: 410, title: 'The download link has expired; ask for a new one' },
  'export-gone': { status: 410, title: 'The export is not available (expired, failed or deleted)' },
  'erasure-blocked': { status: 409, title: 'The person cannot be erased in this state' },
  'invalid-webhook-signature': { status: 400, title: "The webhook's signature is not valid" },
  'plan-retired': { status: 409, title: 'The plan is retired and can no longer be chosen' },
  'usage-over-plan-limits': { status: 409, title: "The tenant's usage is above the new plan's limits" },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemCode = keyof typeof PROBLEMS;

export const PROBLEM_TYPE_BASE = 'https://tenantry.dev/problems/';

/**
 * An error meant for the client. `detail` is shown to the user; anything internal
 * belongs in `cause`, which is logged and never sent.
 */
export class AppError extends Error {
  override name = 'AppError';
  readonly code: ProblemCode;
  readonly status: number;
  readonly detail: string | undefined;
  readonly extra: Record<string, unknown>;

  constructor(code: ProblemCode, detail?: string, extra: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(detail ?? PROBLEMS[code].title, options);
    this.code = code;
    this.status = PROBLEMS[code].status;
    this.detail = detail;
    this.extra = extra;
  }
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  [extension: string]: unknown;
}

export function problemBody(code: ProblemCode, detail: string | undefined, extra: Record<string, unknown> = {}): ProblemBody {
  const { status, title } = PROBLEMS[code];
  return { type: PROBLEM_TYPE_BASE + code, title, status, ...(detail ? { detail } : {}), ...extra };
}
