// Privacy as a module: tenant export (an archive of every registered tenant table, by its
// declared policy), erasure of a person or a departed member, and erasure of a whole tenant
// with a certificate. It lists no table of its own beyond its bookkeeping: it reads the
// registry, so a module's table is covered the moment the module is registered.

import { fileURLToPath } from 'node:url';
import { accountsModule } from '../accounts/accounts.module.js';
import { auditModule } from '../audit/audit.module.js';
import { authModule } from '../auth/auth.module.js';
import { defineModule, routePlugins } from '../modules/module.js';
import { tenancyModule } from '../tenancy/tenancy.module.js';
import { exportRoutes, type ExportRouteDeps } from './export/exports.routes.js';
import { exportStorageOf } from './export/export-storage-of.js';
import { exportTenantJob } from './export/export-tenant-job.js';
import { expireExportsJob, expireExportsSchedule } from './export/expire-exports-job.js';
import { TenantExports } from './export/tenant-exports.js';
import { certificateRoutes, type CertificateRouteDeps } from './erasure/certificates.routes.js';
import { erasureRoutes, type ErasureRouteDeps } from './erasure/erasure.routes.js';
import { ErasureThrottle } from './erasure/erasure-throttle.js';
import { PersonErasure } from './erasure/person-erasure.js';
import { TenantErasure } from './erasure/tenant-erasure.js';
import type { PrivacyTables } from './privacy-tables.js';

interface PrivacyModuleDeps extends ExportRouteDeps, ErasureRouteDeps, CertificateRouteDeps {}

export const privacyModule = defineModule({
  name: 'privacy',
  dependsOn: [tenancyModule, authModule, accountsModule, auditModule],
  migrations: fileURLToPath(new URL('./migrations', import.meta.url)),
  // Its own bookkeeping: not exported (an export listing exports is noise), erased like any row naming the person.
  tenantTables: [{ name: 'tenant_exports', exported: false, identifies: { requested_by: 'user_id' }, personal: { requested_by: 'null' } }],
  jobs: [exportTenantJob, expireExportsJob],
  schedules: [expireExportsSchedule],
  compose: ({ db: platformDb, jobs, clock, config, privacyKey, modules, invalidation, metering }): PrivacyModuleDeps => {
    const db = platformDb.withTables<PrivacyTables>();
    const storage = exportStorageOf(config);
    return {
      privacyDb: db,
      privacyKey,
      personErasure: new PersonErasure(db, modules, clock, privacyKey, storage),
      erasureThrottle: new ErasureThrottle(metering.rateLimiter.buckets, config.rateLimits),
      tenantErasure: new TenantErasure({ db, modules, clock, invalidation, storage, key: privacyKey, retentionDays: config.purgeRetentionDays }),
      exports: new TenantExports({
        db,
        jobs,
        clock,
        storage,
        key: privacyKey,
        retentionHours: config.exportRetentionHours,
      }),
    };
  },
  routes: routePlugins<PrivacyModuleDeps>(exportRoutes, erasureRoutes, certificateRoutes),
});
