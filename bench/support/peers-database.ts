// The database of bench:peers, built with generate_series rather than the API (the API would
// take hours for 2M tasks): tenants on the enterprise plan, each with an owner, a live session
// (so a JWT can be minted for it), an API key whose secret the bench knows, one project and its
// tasks. Seeded as the database owner, then VACUUM ANALYZE so every server meets the same plans.

import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface PeerTenant {
  readonly tenantId: string;
  readonly userId: string;
  /** The seeded session's family_id: the `sid` a minted access token carries. */
  readonly sessionFamilyId: string;
  /** tnt_<prefix>_<secret>, as a client would send it. */
  readonly apiKey: string;
}

export interface PeersData {
  /** In slug order (peer-00001 first), so a tenant's index means the same thing every run. */
  readonly tenants: readonly PeerTenant[];
  readonly seedSeconds: number;
}

/**
 * Each tenant's key secret is this run's random stem followed by the tenant's number: known to
 * the bench, unguessable to anything else, and hashed in SQL exactly as opaque-tokens.ts hashes
 * it (SHA-256 of the UTF-8 text).
 */
function keySecretStem(): string {
  return randomBytes(24).toString('base64url');
}

export async function seedPeersDatabase(url: string, tenants: number, tasksPerTenant: number): Promise<PeersData> {
  const stem = keySecretStem();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const started = performance.now();
    // A bulk load: no commit waits, and as superuser the foreign-key triggers are skipped
    // (session_replication_role = replica); every reference below is built to hold anyway.
    await client.query(`SET synchronous_commit = off; SET maintenance_work_mem = '256MB'; SET session_replication_role = replica`);
    await client.query('BEGIN');
    await client.query(
      `CREATE TEMP TABLE peer_seed ON COMMIT DROP AS
         SELECT g, gen_random_uuid() AS tenant_id, gen_random_uuid() AS user_id, gen_random_uuid() AS project_id,
                gen_random_uuid() AS family_id
         FROM generate_series(1, $1::int) g`,
      [tenants],
    );
    await client.query(`
      INSERT INTO tenants (id, name, slug, plan)
        SELECT tenant_id, 'Peer tenant ' || g, 'peer-' || lpad(g::text, 5, '0'), 'enterprise' FROM peer_seed;
      INSERT INTO users (id, email, name, status)
        SELECT user_id, 'owner-' || g || '@peers.test', 'Owner ' || g, 'active' FROM peer_seed;
      INSERT INTO memberships (tenant_id, user_id, role) SELECT tenant_id, user_id, 'owner' FROM peer_seed;
      INSERT INTO sessions (id, family_id, token_hash, user_id, active_tenant_id, expires_at)
        SELECT gen_random_uuid(), family_id, sha256(convert_to('peer-session-' || family_id, 'UTF8')), user_id, tenant_id,
               now() + interval '1 day'
        FROM peer_seed;
      INSERT INTO projects (tenant_id, id, name, created_by) SELECT tenant_id, project_id, 'Project ' || g, user_id FROM peer_seed;
    `);
    // Prefix: 16 characters of [a-z0-9] like a minted one; role member, as a new key gets.
    await client.query(
      `INSERT INTO api_keys (tenant_id, id, prefix, secret_hash, name, created_by)
         SELECT tenant_id, gen_random_uuid(), 'peer' || lpad(g::text, 12, '0'), sha256(convert_to($1 || g, 'UTF8')), 'Bench key', user_id
         FROM peer_seed`,
      [stem],
    );
    // Distinct creation times per tenant (one minute apart), so "the 50 newest" is one answer
    // whatever the tie-break; every other task is assigned to the owner, the rest to nobody.
    await client.query(
      `INSERT INTO tasks (tenant_id, id, project_id, title, description, status, assignee_id, created_by, created_at, updated_at)
         SELECT s.tenant_id, gen_random_uuid(), s.project_id, 'Task ' || n, 'Description of task ' || n || ' of tenant ' || s.g,
                (ARRAY['todo', 'in_progress', 'done'])[1 + n % 3], CASE WHEN n % 2 = 0 THEN s.user_id END, s.user_id,
                now() - n * interval '1 minute', now() - n * interval '1 minute'
         FROM peer_seed s CROSS JOIN generate_series(1, $1::int) n`,
      [tasksPerTenant],
    );
    const { rows } = await client.query<{ tenant_id: string; user_id: string; family_id: string; g: number }>(
      'SELECT tenant_id, user_id, family_id, g FROM peer_seed ORDER BY g',
    );
    await client.query('COMMIT');
    await client.query('VACUUM ANALYZE');
    const seedSeconds = (performance.now() - started) / 1000;
    return {
      tenants: rows.map((row) => ({
        tenantId: row.tenant_id,
        userId: row.user_id,
        sessionFamilyId: row.family_id,
        apiKey: `tnt_peer${String(row.g).padStart(12, '0')}_${stem}${row.g}`,
      })),
      seedSeconds,
    };
  } finally {
    await client.end();
  }
}
