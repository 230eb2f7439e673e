// Re-reads, for every connection an instance holds, whether its credential still grants access:
// tenant live and not suspended, member still a member with a live session, key not revoked
// and its creator still a member, and the role in effect now. One statement for all of them,
// run every second (and at once when the invalidation bus announces a tenant's change), so a
// removed member, a revoked key or a suspended tenant loses its sockets within a second.
//
// It reads across tenants, as the service role, directly rather than through db.service(): a
// pass every second would flood service_role_audit (the outbox relay does the same). It only
// reads, and only the liveness of credentials this instance holds. It has a connection of its
// own (the service login's, like the relay's), so a saturated request pool never delays it
// past the point where sockets are closed as unverifiable.

import pg from 'pg';
import type { Role, TenantStatus } from '../db/tables.js';
import type { SocketCredential } from './socket-identity.js';

export type Verdict =
  | { readonly live: true; readonly role: Role; readonly plan: string }
  | { readonly live: false; readonly reason: 'revoked' | 'suspended' };

const VERIFY_SQL = `
WITH c AS (
  SELECT * FROM unnest($1::int[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[])
    AS c (ref, tenant_id, user_id, family_id, key_id)
)
SELECT c.ref, t.status, t.plan,
  CASE WHEN c.key_id IS NULL THEN
    (SELECT m.role FROM memberships m
      WHERE m.tenant_id = c.tenant_id AND m.user_id = c.user_id AND m.deleted_at IS NULL
        AND EXISTS (SELECT 1 FROM sessions s WHERE s.family_id = c.family_id AND s.user_id = c.user_id
                      AND s.revoked_at IS NULL AND s.expires_at > $6))
  ELSE
    (SELECT CASE WHEN array_position(ARRAY['viewer','member','admin','owner'], cm.role)
                      < array_position(ARRAY['viewer','member','admin','owner'], k.role) THEN cm.role ELSE k.role END
       FROM api_keys k
       JOIN memberships cm ON cm.tenant_id = k.tenant_id AND cm.user_id = k.created_by AND cm.deleted_at IS NULL
      WHERE k.tenant_id = c.tenant_id AND k.id = c.key_id AND k.revoked_at IS NULL AND k.deleted_at IS NULL
        AND (k.expires_at IS NULL OR k.expires_at > $6))
  END AS role
FROM c LEFT JOIN tenants t ON t.id = c.tenant_id AND t.deleted_at IS NULL`;

export class AccessVerification {
  readonly #connection: pg.ClientConfig;
  readonly #serviceRole: string;
  #client: Promise<pg.Client> | undefined;
  #closed = false;

  /** `connection`: the service pool's options (a login that may SET ROLE to the service role). */
  constructor(connection: pg.ClientConfig, serviceRole: string) {
    const { connectionString, host, port, user, password, database, ssl } = connection;
    this.#connection = { connectionString, host, port, user, password, database, ssl, connectionTimeoutMillis: 5_000, query_timeout: 5_000 } as pg.ClientConfig;
    this.#serviceRole = serviceRole;
  }

  /** One verdict per credential, in the order given. */
  async verify(credentials: readonly SocketCredential[], now: Date): Promise<Verdict[]> {
    if (credentials.length === 0) return [];
    const client = await this.#connect();
    try {
      await client.query(`BEGIN READ ONLY; SET LOCAL ROLE ${pg.escapeIdentifier(this.#serviceRole)}`);
      const { rows } = await client.query<{ ref: number; status: TenantStatus | null; plan: string | null; role: Role | null }>(VERIFY_SQL, [
        credentials.map((_, index) => index),
        credentials.map((credential) => credential.tenantId),
        credentials.map((credential) => credential.userId ?? null),
        credentials.map((credential) => credential.sessionFamilyId ?? null),
        credentials.map((credential) => (credential.kind === 'api_key' ? credential.keyId! : null)),
        now,
      ]);
      await client.query('COMMIT');
      const verdicts: Verdict[] = credentials.map(() => ({ live: false, reason: 'revoked' }));
      for (const row of rows) {
        if (row.status === null || row.role === null || row.plan === null) continue;
        verdicts[row.ref] = row.status === 'suspended' ? { live: false, reason: 'suspended' } : { live: true, role: row.role, plan: row.plan };
      }
      return verdicts;
    } catch (error) {
      // Whatever state the connection is in, the next pass starts on a new one.
      this.#drop();
      throw error;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const client = this.#client;
    this.#client = undefined;
    await client?.then((connected) => connected.end()).catch(() => {});
  }

  #connect(): Promise<pg.Client> {
    if (this.#closed) return Promise.reject(new Error('access verification is closed'));
    this.#client ??= (async () => {
      const client = new pg.Client(this.#connection);
      client.on('error', () => this.#drop());
      await client.connect();
      return client;
    })();
    this.#client.catch(() => this.#drop());
    return this.#client;
  }

  #drop(): void {
    const client = this.#client;
    this.#client = undefined;
    void client?.then((connected) => connected.end()).catch(() => {});
  }
}
