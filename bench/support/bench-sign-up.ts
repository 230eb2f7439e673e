// Sign-up as a client does it, for benches that need real tenants: POST /v1/tenants (202), the
// link from the local mailbox, POST /v1/tenants/confirm (201). Waits as told on 429 (the
// sign-up throttle) and 503 (a busy machine shedding load), outside any timed part.

import type pg from 'pg';

export interface SignedUp {
  readonly tenant: { readonly id: string };
  readonly owner: { readonly id: string };
  readonly accessToken: string;
  readonly apiKey: { readonly key: string };
}

async function send(base: string, url: string, body: unknown): Promise<Response> {
  for (;;) {
    const response = await fetch(base + url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (response.status !== 429 && response.status !== 503) return response;
    const retryAfter = Number(response.headers.get('retry-after') ?? 1);
    await response.arrayBuffer();
    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000));
  }
}

/** `admin` reads the mailbox (the embedded default's email delivery). */
export async function benchSignUp(
  base: string,
  admin: Pick<pg.Client, 'query'>,
  owner: { readonly name: string; readonly slug: string; readonly email: string; readonly password: string },
): Promise<SignedUp> {
  const asked = await send(base, '/v1/tenants', { name: owner.name, slug: owner.slug, owner: { email: owner.email, password: owner.password, name: 'Owner' } });
  if (asked.status !== 202) throw new Error(`sign-up ${owner.slug}: ${asked.status} ${await asked.text()}`);
  await asked.arrayBuffer();
  const mail = await admin.query<{ text_body: string }>('SELECT text_body FROM email_mailbox WHERE recipient = $1 ORDER BY created_at DESC LIMIT 1', [owner.email]);
  const token = /complete-sign-up\?token=([A-Za-z0-9_-]+)/.exec(mail.rows[0]?.text_body ?? '')?.[1];
  if (!token) throw new Error(`sign-up ${owner.slug}: no sign-up link in the mailbox`);
  const confirmed = await send(base, '/v1/tenants/confirm', { token, password: owner.password });
  if (confirmed.status !== 201) throw new Error(`sign-up ${owner.slug}: confirm ${confirmed.status} ${await confirmed.text()}`);
  return (await confirmed.json()) as SignedUp;
}
