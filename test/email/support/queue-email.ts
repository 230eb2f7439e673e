// Queues an email in a committed unit of work of a tenant, as a use case would.

import type { Services } from '../../../src/services.js';
import type { OutgoingEmail } from '../../../src/email/outgoing-email.js';
import { enterTenant } from '../../../src/tenancy/enter-tenant.js';

export function queueEmail(services: Services, tenantId: string, email: OutgoingEmail): Promise<void> {
  return enterTenant(tenantId, () => services.db.tenant((tx) => services.email.queue(tx, tenantId, email)));
}

export function sampleEmail(to: string, secret = 'tok_' + Math.random().toString(36).slice(2)): OutgoingEmail & { secret: string } {
  return {
    to,
    subject: 'Your sign-in link',
    text: `Open https://app.example.test/verify?token=${secret}`,
    html: `<p>Open <a href="https://app.example.test/verify?token=${secret}">the link</a></p>`,
    secret,
  };
}
