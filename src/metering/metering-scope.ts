// Who may send usage events: members and above, and API keys that carry the
// metering:write scope whatever their role (a billing pipeline's key needs nothing else).

import type { FastifyRequest } from 'fastify';
import { actorOf } from '../http/access.js';
import { AppError } from '../http/problems.js';
import { roleAtLeast } from '../tenancy/roles.js';

export const METERING_WRITE_SCOPE = 'metering:write';

export function assertMayRecordUsage(request: FastifyRequest): void {
  const principal = request.principal;
  if (principal?.kind === 'api_key' && principal.scopes.some((scope) => scope === METERING_WRITE_SCOPE || scope === 'metering:*')) return;
  if (roleAtLeast(actorOf(request).role, 'member')) return;
  throw new AppError('forbidden', `sending usage needs the member role or an API key with the ${METERING_WRITE_SCOPE} scope`, {
    required_role: 'member',
  });
}
