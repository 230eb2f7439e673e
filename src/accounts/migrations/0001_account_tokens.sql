-- Up Migration
-- Proof of owning an email address, and the one-time tokens that give it. Both are global
-- (a person's, not a tenant's), like users and sessions.
--
-- account_tokens: a verification or password-reset token, stored as its SHA-256 only,
-- expiring and single use. A unit that names a user (app.user_id) may create that user's
-- tokens (sign-up, an email change, a resend); redeeming one finds it by its hash alone, which
-- the service role does, audited, since the redeemer is not signed in.
--
-- verified_emails: (user, address) pairs proven by a redeemed token. An account's email is
-- verified when its current address has a row, so changing the address needs a new proof.
-- A unit may read the rows of the user it names (accepting an invitation checks them).

CREATE TABLE account_tokens (
  id          uuid PRIMARY KEY,
  user_id     uuid NOT NULL REFERENCES users (id),
  purpose     text NOT NULL CHECK (purpose IN ('verify-email', 'reset-password')),
  -- The address the token was sent to: the one it verifies (a new address, for a change).
  email       text NOT NULL CHECK (length(email) BETWEEN 3 AND 320),
  token_hash  bytea NOT NULL CONSTRAINT account_tokens_token_hash_key UNIQUE,
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX account_tokens_user_idx ON account_tokens (user_id, purpose, created_at);

CREATE TABLE verified_emails (
  user_id      uuid NOT NULL REFERENCES users (id),
  -- Lower-cased: emails compare case-insensitively everywhere in Tenantry.
  email        text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 320),
  verified_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, email)
);

ALTER TABLE account_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE account_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY account_tokens_insert ON account_tokens FOR INSERT
  WITH CHECK (user_id = (SELECT nullif(current_setting('app.user_id', true), '')::uuid));

ALTER TABLE verified_emails ENABLE ROW LEVEL SECURITY;
ALTER TABLE verified_emails FORCE ROW LEVEL SECURITY;
CREATE POLICY verified_emails_select ON verified_emails FOR SELECT
  USING (user_id = (SELECT nullif(current_setting('app.user_id', true), '')::uuid));

-- The app role writes tokens (never reads them) and reads verifications; the service role redeems.
SELECT tenantry_internal.grant_to('tenantry.app_role', 'INSERT', 'account_tokens');
SELECT tenantry_internal.grant_to('tenantry.app_role', 'SELECT', 'verified_emails');
SELECT tenantry_internal.grant_to('tenantry.service_role', 'SELECT, INSERT, UPDATE, DELETE', 'account_tokens');
SELECT tenantry_internal.grant_to('tenantry.service_role', 'SELECT, INSERT, DELETE', 'verified_emails');

-- Down Migration
DROP TABLE verified_emails, account_tokens;
