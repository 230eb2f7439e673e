// The relations the privacy module's migrations create: PrivacyTables declares them, the
// platform's Tables does not (test/db/row-types.test.ts leaves them to test/privacy).

export const PRIVACY_RELATIONS: ReadonlySet<string> = new Set(['tenant_exports', 'erasure_certificates']);
