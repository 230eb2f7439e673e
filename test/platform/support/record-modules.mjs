// Module hooks (run on node's loader thread): appends the URL of every module resolved to
// the file named by TENANTRY_TEST_MODULE_LOG.

import { appendFileSync } from 'node:fs';

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  const file = process.env.TENANTRY_TEST_MODULE_LOG;
  if (file) appendFileSync(file, resolved.url + '\n');
  return resolved;
}
