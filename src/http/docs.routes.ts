// The readable API reference at /docs (Swagger UI over /openapi.json's document), public, with
// a strict Content-Security-Policy that still works over plain HTTP from any host name.

import swaggerUi from '@fastify/swagger-ui';
import type { FastifyPluginAsync } from 'fastify';
import { access } from './access.js';

/**
 * The plugin's own `staticCSP: true` policy, minus `upgrade-insecure-requests` (over plain
 * HTTP from any host but localhost it sent the browser to https for every asset, and the
 * page stayed blank) and minus what the page never needs: `https:` fonts and styles, and the
 * validator badge's host (the validator is off). Every other directive is the plugin's.
 */
const DOCS_CSP: Record<string, string> = {
  'default-src': "'self'",
  'base-uri': "'self'",
  'font-src': "'self' data:",
  'form-action': "'self'",
  'frame-ancestors': "'self'",
  'img-src': "'self' data:",
  'object-src': "'none'",
  'script-src': "'self'",
  'script-src-attr': "'none'",
  // The one inline style the page has: the colours inside Swagger UI's top-bar logo SVG.
  // A Swagger UI upgrade that changes it shows up as a CSP violation in test/http/docs-page.test.ts.
  'style-src': "'self' 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='",
};

export const docsRoutes: FastifyPluginAsync = async (docs) => {
  // The reference page and its assets are public; routes elsewhere default to tenant access.
  docs.addHook('onRoute', (route) => {
    route.config = { ...route.config, access: access.public };
  });
  await docs.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { docExpansion: 'list', deepLinking: true, validatorUrl: null },
    staticCSP: DOCS_CSP,
  });
};
