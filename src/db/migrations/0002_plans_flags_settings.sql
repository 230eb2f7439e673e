-- Up Migration
-- Plans, feature flags, tenant flag overrides and the audit log. Plans and flag
-- definitions are platform data: readable by the app role, written only through the
-- audited service role. The seed rows repeat src/plans/catalog.json; a test keeps the two
-- in step.

-- A plan: price (NULL = custom), limits per metric ({metric: number | null}, where null
-- and only null means unlimited), API rate limit (NULL = unlimited) and setting defaults.
CREATE TABLE plans (
  key                        text PRIMARY KEY CHECK (key ~ '^[a-z][a-z0-9_]{1,39}$'),
  name                       text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  monthly_price_cents        integer CHECK (monthly_price_cents >= 0),
  limits                     jsonb NOT NULL DEFAULT '{}'::jsonb
                             CHECK (jsonb_typeof(limits) = 'object'
                                    AND NOT jsonb_path_exists(limits, '$.* ? (@.type() != "number" && @.type() != "null")')
                                    AND NOT jsonb_path_exists(limits, '$.* ? (@.type() == "number" && @ < 0)')),
  api_rate_limit_per_minute  integer CHECK (api_rate_limit_per_minute > 0),
  settings                   jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(settings) = 'object'),
  sort_order                 integer NOT NULL,
  created_at                 timestamptz NOT NULL DEFAULT now(),
  updated_at                 timestamptz NOT NULL DEFAULT now()
);

-- A flag. A rollout flag is true for the tenants (or users) whose bucket, a stable hash of
-- key + ':' + attribute into 0..9999, is below rollout_basis_points (100 = 1%).
CREATE TABLE flag_definitions (
  key                   text PRIMARY KEY CHECK (key ~ '^[a-z][a-z0-9_]{1,63}$'),
  kind                  text NOT NULL CHECK (kind IN ('boolean', 'variant', 'rollout')),
  description           text NOT NULL DEFAULT '' CHECK (length(description) <= 500),
  default_value         jsonb NOT NULL,
  rollout_basis_points  integer CHECK (rollout_basis_points BETWEEN 0 AND 10000),
  bucket_by             text NOT NULL DEFAULT 'tenantId' CHECK (bucket_by IN ('tenantId', 'userId')),
  tenant_editable       boolean NOT NULL DEFAULT false,
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT flag_definitions_rollout_check CHECK ((kind = 'rollout') = (rollout_basis_points IS NOT NULL)),
  CONSTRAINT flag_definitions_default_check CHECK (
    (kind = 'boolean' AND jsonb_typeof(default_value) = 'boolean')
    OR (kind = 'rollout' AND default_value = 'false'::jsonb)
    OR kind = 'variant')
);

-- A plan's default for a flag: more specific than the flag's own default.
CREATE TABLE flag_plan_defaults (
  flag_key    text NOT NULL REFERENCES flag_definitions (key) ON DELETE CASCADE,
  plan_key    text NOT NULL REFERENCES plans (key) ON DELETE CASCADE,
  value       jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (flag_key, plan_key)
);

-- A tenant's own value for a flag: the most specific level. Tenant data.
CREATE TABLE flag_overrides (
  tenant_id   uuid NOT NULL REFERENCES tenants (id),
  id          uuid NOT NULL,
  flag_key    text NOT NULL REFERENCES flag_definitions (key) ON DELETE CASCADE,
  value       jsonb NOT NULL,
  created_by  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  deleted_at  timestamptz,
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT flag_overrides_flag_key UNIQUE (tenant_id, flag_key)
);
CREATE INDEX flag_overrides_tenant_created_idx ON flag_overrides (tenant_id, created_at);
SELECT tenantry_internal.enable_tenant_rls('flag_overrides');

-- Every change of a tenant's plan, settings or flag overrides, written in the transaction
-- that makes the change. Append-only for the app role: it may only stamp deleted_at
-- (tenant soft delete).
CREATE TABLE audit_log (
  tenant_id   uuid NOT NULL REFERENCES tenants (id),
  id          uuid NOT NULL,
  actor       text NOT NULL CHECK (length(actor) BETWEEN 1 AND 200),
  action      text NOT NULL CHECK (length(action) BETWEEN 1 AND 100),
  target      text NOT NULL CHECK (length(target) BETWEEN 1 AND 200),
  before      jsonb,
  after       jsonb,
  request_id  text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  deleted_at  timestamptz,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_log_tenant_created_idx ON audit_log (tenant_id, created_at);
SELECT tenantry_internal.enable_tenant_rls('audit_log');

-- Changes of platform data (plans, flag definitions, plan defaults): no tenant owns them.
CREATE TABLE platform_audit_log (
  id          uuid PRIMARY KEY,
  actor       text NOT NULL CHECK (length(actor) BETWEEN 1 AND 200),
  action      text NOT NULL CHECK (length(action) BETWEEN 1 AND 100),
  target      text NOT NULL CHECK (length(target) BETWEEN 1 AND 200),
  before      jsonb,
  after       jsonb,
  request_id  text,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX platform_audit_log_created_idx ON platform_audit_log (created_at);

-- Seed catalog (src/plans/catalog.json).
INSERT INTO plans (key, name, monthly_price_cents, limits, api_rate_limit_per_minute, settings, sort_order) VALUES
  ('free', 'Free', 0, '{"memories": 1000, "agents": 1, "seats": 3}', 60, '{}', 10),
  ('pro', 'Pro', 1500, '{"memories": 50000, "agents": 5, "seats": 20}', 600,
   '{"supportUrl": "https://tenantry.dev/support/priority"}', 20),
  ('promax', 'Pro Max', 2900, '{"memories": 500000, "agents": null, "seats": null}', 1200,
   '{"supportUrl": "https://tenantry.dev/support/priority"}', 30),
  ('enterprise', 'Enterprise', NULL, '{"memories": null, "agents": null, "seats": null}', NULL,
   '{"supportUrl": "https://tenantry.dev/support/enterprise"}', 40)
ON CONFLICT (key) DO NOTHING;

INSERT INTO flag_definitions (key, kind, description, default_value, rollout_basis_points, bucket_by, tenant_editable) VALUES
  ('audit_log', 'boolean', 'Read the tenant''s audit log (GET /v1/audit)', 'false', NULL, 'tenantId', false),
  ('custom_branding', 'boolean', 'Logo and colors on the tenant''s login page', 'false', NULL, 'tenantId', false),
  ('sso', 'boolean', 'Single sign-on', 'false', NULL, 'tenantId', false),
  ('dark_mode', 'boolean', 'Dark console theme, a tenant''s own choice', 'false', NULL, 'tenantId', true),
  ('new_dashboard', 'rollout', 'The new console dashboard, rolled out gradually', 'false', 2500, 'tenantId', false),
  ('recall_strategy', 'variant', 'Memory recall ranking: fts or hybrid', '"fts"', NULL, 'tenantId', true)
ON CONFLICT (key) DO NOTHING;

INSERT INTO flag_plan_defaults (flag_key, plan_key, value) VALUES
  ('audit_log', 'pro', 'true'), ('custom_branding', 'pro', 'true'),
  ('audit_log', 'promax', 'true'), ('custom_branding', 'promax', 'true'), ('recall_strategy', 'promax', '"hybrid"'),
  ('audit_log', 'enterprise', 'true'), ('custom_branding', 'enterprise', 'true'), ('sso', 'enterprise', 'true'),
  ('recall_strategy', 'enterprise', '"hybrid"')
ON CONFLICT DO NOTHING;

-- A tenant's plan must be a plan of the catalog.
ALTER TABLE tenants ADD CONSTRAINT tenants_plan_fkey FOREIGN KEY (plan) REFERENCES plans (key);

SELECT tenantry_internal.grant_to('tenantry.app_role', 'SELECT', t)
  FROM unnest(ARRAY['plans', 'flag_definitions', 'flag_plan_defaults']::regclass[]) AS t;
SELECT tenantry_internal.grant_to('tenantry.app_role', 'SELECT, INSERT, UPDATE, DELETE', 'flag_overrides');
SELECT tenantry_internal.grant_to('tenantry.app_role', 'SELECT, INSERT, UPDATE (deleted_at)', 'audit_log');

SELECT tenantry_internal.grant_to('tenantry.service_role', 'SELECT, INSERT, UPDATE, DELETE', t)
  FROM unnest(ARRAY['plans', 'flag_definitions', 'flag_plan_defaults', 'flag_overrides']::regclass[]) AS t;
SELECT tenantry_internal.grant_to('tenantry.service_role', 'SELECT, INSERT, UPDATE (deleted_at), DELETE', 'audit_log');
SELECT tenantry_internal.grant_to('tenantry.service_role', 'SELECT, INSERT', 'platform_audit_log');

-- Down Migration
ALTER TABLE tenants DROP CONSTRAINT tenants_plan_fkey;
DROP TABLE platform_audit_log, audit_log, flag_overrides, flag_plan_defaults, flag_definitions, plans;
