// Slugs and subdomains name tenants in URLs and host names: lowercase letters, digits and
// hyphens, 3-63 characters, and none of the words the platform keeps for itself.

import { AppError } from '../../http/problems.js';

const SHAPE = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

export const RESERVED_SLUGS: ReadonlySet<string> = new Set([
  'www', 'api', 'admin', 'app', 'apps', 'auth', 'login', 'logout', 'signup', 'register', 'account', 'accounts',
  'billing', 'console', 'dashboard', 'docs', 'help', 'support', 'status', 'mail', 'email', 'smtp', 'ftp',
  'static', 'assets', 'cdn', 'blog', 'root', 'system', 'internal', 'tenantry', 'platform', 'settings',
  'security', 'staging', 'dev', 'test', 'localhost', 'ns1', 'ns2', 'webhooks', 'oauth', 'sso', 'null', 'undefined',
]);

/** Throws a 400 naming the field when the value is not a usable slug. */
export function assertValidSlug(value: string, field: 'slug' | 'subdomain'): void {
  if (!SHAPE.test(value) || value.includes('--')) {
    throw new AppError(
      'validation-failed',
      `${field} must be 3-63 lowercase letters, digits or single hyphens, starting and ending with a letter or digit`,
      { errors: [{ field: `body.${field}`, message: 'is not a valid slug' }] },
    );
  }
  if (RESERVED_SLUGS.has(value)) {
    throw new AppError('validation-failed', `${field} "${value}" is reserved`, {
      errors: [{ field: `body.${field}`, message: 'is reserved' }],
    });
  }
}
