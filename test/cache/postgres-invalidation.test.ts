// Cross-instance invalidation through PostgreSQL LISTEN/NOTIFY (no REDIS_URL): the NOTIFY
// travels in the changing transaction, each instance listens on a connection of its own.

import { describe } from 'vitest';
import { crossInstanceScenarios } from './cross-instance.scenarios.js';

describe('cache invalidation across instances through PostgreSQL LISTEN/NOTIFY', () => {
  crossInstanceScenarios(() => ({ TENANTRY_CACHE_CHANNEL: 'tenantry_cache_pg_test' }));
});
