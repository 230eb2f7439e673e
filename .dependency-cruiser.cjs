// Import boundaries, checked in CI (`npm run check:imports`). Tenantry has a core (the data
// path, the HTTP edge's plumbing, jobs, the outbox, caches, the module seam), features built
// as modules on it, and a composition layer that wires them (services, plugin, app, server).
// Imports point from features to the core and from composition to both, never back; the
// sample task domain is optional, so only the list of built-in modules names it; and an
// adopter's code (examples/) sees Tenantry only through the package's public API.

const CORE = '^src/(db|http|jobs|outbox|cache|ratelimit|modules)/';
/** Who is acting, and the one way into a tenant: the core's, though they live beside tenancy. */
const IDENTITY = '^src/tenancy/(context|actor|enter-tenant|roles)\\.ts$';
const FEATURES = '^src/(tenancy|accounts|auth|plans|flags|settings|metering|audit|platform|domain|memory|billing)/';
const COMPOSITION = '^src/(services|plugin|app|server|built-in-modules|index|cli)\\.ts$|^src/cli/';

module.exports = {
  forbidden: [
    {
      name: 'core-does-not-import-features',
      comment:
        'The core knows no feature. It may use the identity files (the Actor, the request ' +
        'context, enterTenant, roles), and one seam is allowed: the request edge (http/access.ts ' +
        'authenticates and resolves the tenant, so it composes auth and tenancy).',
      severity: 'error',
      from: { path: CORE, pathNot: '^src/http/access\\.ts$' },
      to: { path: FEATURES, pathNot: IDENTITY },
    },
    {
      name: 'features-do-not-import-composition',
      comment: 'A feature gets its dependencies from the composition root; it may name their types (Services), never import its code.',
      severity: 'error',
      from: { path: FEATURES },
      to: { path: COMPOSITION, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'routes-receive-only-what-compose-builds',
      comment:
        "A route plugin gets what its module's compose built, and its options type lists exactly " +
        'that. Naming Services, even as a type, is how a route would start reaching into ' +
        'everything the app wires; the module file is the one place that sees them.',
      severity: 'error',
      from: { path: '\\.routes\\.ts$' },
      to: { path: '^src/services\\.ts$' },
    },
    {
      name: 'core-does-not-import-composition',
      severity: 'error',
      from: { path: CORE },
      to: { path: COMPOSITION, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'credentials-do-not-import-accounts',
      comment: 'accounts (users, memberships, sign-in) builds on auth (credentials); never the reverse.',
      severity: 'error',
      from: { path: '^src/auth/' },
      to: { path: '^src/accounts/' },
    },
    {
      name: 'task-domain-is-optional',
      comment: 'Only the list of built-in modules names the sample task domain, so a deployment can leave it out.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(domain/tasks/|built-in-modules\\.ts$)' },
      to: { path: '^src/domain/tasks/' },
    },
    {
      name: 'adopters-use-the-public-api',
      comment: "Example apps import Tenantry as a package ('tenantry'), never its internals; their tests may use the test support.",
      severity: 'error',
      from: { path: '^examples/[^/]+/src/' },
      to: { path: '^(src|test|bench)/' },
    },
    {
      name: 'src-stands-alone',
      comment: 'Shipped code imports no test, bench or example code.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench|examples)/' },
    },
    {
      name: 'no-circular-runtime-imports',
      comment: 'A cycle of runtime imports makes module initialisation order matter; type-only cycles are harmless.',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.check.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^dist/' },
    enhancedResolveOptions: { conditionNames: ['tenantry-source', 'import', 'node', 'default'] },
  },
};
