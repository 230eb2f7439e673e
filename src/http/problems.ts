// Every error Tenantry answers with: a stable code, its HTTP status and title. The platform's
// codes are PROBLEMS below (never reused; docs/errors.md lists them and a test keeps the two in
// step); a module adds its own with defineProblem() and declares them (modules/module.ts), so
// an adopter's errors are as specific as the platform's and can never take one of its codes.

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

/** A problem a module defines: what AppError answers with, like a platform code. */
export interface ProblemDefinition {
  readonly code: string;
  readonly status: number;
  readonly title: string;
  /** The problem's `type` URI (RFC 9457): where its documentation lives. */
  readonly type: string;
}

/** A platform problem code, or a module's definition. */
export type ProblemKind = ProblemCode | ProblemDefinition;

const PROBLEM_CODE = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/**
 * Defines a module's problem. Declare it in the module's `problems` too: the registry then
 * refuses a code the platform or another module has.
 *
 * @example
 *   export const contractLocked = defineProblem({
 *     code: 'contract-locked', status: 409, title: 'The contract is signed and can no longer change',
 *     type: 'https://example.com/problems/contract-locked',
 *   });
 *   throw new AppError(contractLocked, `contract ${id} was signed on ${signedAt}`);
 */
export function defineProblem(definition: ProblemDefinition): ProblemDefinition {
  const { code, status, title, type } = definition;
  if (!PROBLEM_CODE.test(code) || code.length > 64) throw new TypeError(`problem code "${code}" must be lowercase words joined by hyphens`);
  if (!Number.isInteger(status) || status < 400 || status > 599) throw new TypeError(`problem "${code}" needs a 4xx or 5xx status, not ${status}`);
  if (title.trim() === '') throw new TypeError(`problem "${code}" needs a title`);
  if (!URL.canParse(type)) throw new TypeError(`problem "${code}" needs an absolute type URI`);
  return Object.freeze({ code, status, title, type });
}

/** A platform code or a module's definition, as one shape. */
export function problemOf(problem: ProblemKind): ProblemDefinition {
  if (typeof problem !== 'string') return problem;
  const { status, title } = PROBLEMS[problem];
  return { code: problem, status, title, type: PROBLEM_TYPE_BASE + problem };
}

/**
 * An error meant for the client. `detail` is shown to the user; anything internal
 * belongs in `cause`, which is logged and never sent.
 */
export class AppError extends Error {
  override name = 'AppError';
  /** A platform code (ProblemCode) or a module's. */
  readonly code: string;
  readonly status: number;
  readonly problem: ProblemDefinition;
  readonly detail: string | undefined;
  readonly extra: Record<string, unknown>;

  constructor(problem: ProblemKind, detail?: string, extra: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    const definition = problemOf(problem);
    super(detail ?? definition.title, options);
    this.problem = definition;
    this.code = definition.code;
    this.status = definition.status;
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

export function problemBody(problem: ProblemKind, detail: string | undefined, extra: Record<string, unknown> = {}): ProblemBody {
  const { type, status, title } = problemOf(problem);
  return { type, title, status, ...(detail ? { detail } : {}), ...extra };
}
