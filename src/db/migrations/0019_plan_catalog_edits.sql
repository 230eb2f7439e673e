-- Up Migration
-- The plan catalog is edited by the platform operator (POST/PATCH /v1/admin/plans) without a
-- migration. A plan is never deleted while tenants or invoices name it: it is retired, which
-- keeps it for the tenants already on it and refuses it to sign-ups and plan changes.
ALTER TABLE plans ADD COLUMN retired_at timestamptz;

-- The general setting `webhookUrl` is gone: the webhooks module's endpoints are the one way to
-- configure outbound webhooks, and nothing ever called that address. Stored values leave the
-- tenants' settings and any plan default with it; each tenant's audit log keeps what it was.
ALTER TABLE tenants NO FORCE ROW LEVEL SECURITY;
ALTER TABLE audit_log NO FORCE ROW LEVEL SECURITY;
WITH before AS (
  SELECT id, settings -> 'webhookUrl' AS url FROM tenants WHERE settings ? 'webhookUrl'
), dropped AS (
  UPDATE tenants t SET settings = t.settings - 'webhookUrl', updated_at = now()
    FROM before b WHERE b.id = t.id
  RETURNING t.id, b.url
)
INSERT INTO audit_log (tenant_id, id, actor, action, target, before, after, request_id)
  SELECT id, gen_random_uuid(), 'system:migration', 'settings.changed', 'settings',
         jsonb_build_object('webhookUrl', url),
         jsonb_build_object('webhookUrl', NULL, 'reason', 'webhookUrl removed: webhook endpoints (/v1/webhooks/endpoints) replace it'),
         NULL
    FROM dropped;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
UPDATE plans SET settings = settings - 'webhookUrl', updated_at = now() WHERE settings ? 'webhookUrl';

-- Down Migration
-- The dropped values are in the audit log; they are not put back.
ALTER TABLE plans DROP COLUMN retired_at;
