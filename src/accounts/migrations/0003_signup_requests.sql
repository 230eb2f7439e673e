-- Up Migration
-- Sign-up requests: POST /v1/tenants no longer creates anything at once (its answer would tell
-- whether the address has an account). It stores the request and mails a link; following the
-- link with the password creates the tenant. Global (there is no tenant yet), like
-- account_tokens; only the service role reaches it (RLS forced, no policy).
--
-- The token is stored as its SHA-256 only. The password is stored as its argon2id hash, made
-- whether or not the address has an account, so the request costs the same either way; for an
-- address that has one, the account's own password is what the link's holder must give.

CREATE TABLE signup_requests (
  id             uuid PRIMARY KEY,
  token_hash     bytea NOT NULL CONSTRAINT signup_requests_token_hash_key UNIQUE,
  email          text NOT NULL CHECK (length(email) BETWEEN 3 AND 320),
  owner_name     text NOT NULL CHECK (length(owner_name) BETWEEN 1 AND 200),
  password_hash  text NOT NULL,
  tenant_name    text NOT NULL CHECK (length(tenant_name) BETWEEN 1 AND 200),
  slug           text NOT NULL,
  subdomain      text,
  plan           text NOT NULL,
  expires_at     timestamptz NOT NULL,
  used_at        timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX signup_requests_email_idx ON signup_requests (lower(email));
CREATE INDEX signup_requests_expires_idx ON signup_requests (expires_at);

ALTER TABLE signup_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE signup_requests FORCE ROW LEVEL SECURITY;

SELECT tenantry_internal.grant_to('tenantry.service_role', 'SELECT, INSERT, UPDATE, DELETE', 'signup_requests');

-- Down Migration
DROP TABLE signup_requests;
