-- Up Migration
-- Invitations: an offer to join one tenant with one role, addressed to an email. Inviting
-- never creates a user or a membership; the membership is written when the invitation is
-- accepted, by a person who holds the token AND either signs in as the account with that
-- email or, when no account has it, creates one. An account is not proof of owning its
-- email (there is no verification), so holding an account never admits anyone by itself,
-- and holding the token never takes over an existing account.
-- (The old users.invite_token_hash / invite_expires_at columns are dropped by 0005.)
CREATE TABLE invitations (
  tenant_id    uuid NOT NULL REFERENCES tenants (id),
  id           uuid NOT NULL,
  email        text NOT NULL CHECK (length(email) BETWEEN 3 AND 320 AND position('@' IN email) > 1),
  role         text NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
  -- SHA-256 of the one-time token inv_<secret>; the token itself is shown once, to the inviter.
  token_hash   bytea NOT NULL,
  invited_by   uuid REFERENCES users (id),
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  accepted_at  timestamptz,
  accepted_by  uuid REFERENCES users (id),
  -- Withdrawn by an admin, or stamped by tenant soft delete.
  deleted_at   timestamptz,
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT invitations_token_hash_key UNIQUE (tenant_id, token_hash),
  CHECK ((accepted_at IS NULL) = (accepted_by IS NULL))
);
-- At most one pending invitation per email in a tenant. An expired one still holds its
-- place here until a new invitation withdraws it (expiry cannot be part of an index).
CREATE UNIQUE INDEX invitations_live_email_key ON invitations (tenant_id, lower(email))
  WHERE accepted_at IS NULL AND deleted_at IS NULL;
CREATE INDEX invitations_tenant_created_idx ON invitations (tenant_id, created_at);
-- Acceptance finds the row by its token before the tenant is known.
CREATE INDEX invitations_token_hash_idx ON invitations (token_hash);
SELECT tenantry_internal.enable_tenant_rls('invitations');
-- Before the tenant is known, an invitation is visible only to a lookup that names the
-- SHA-256 of its token (app.invitation_token_hash, hex), like api_keys_select_by_prefix.
CREATE POLICY invitations_select_by_token ON invitations FOR SELECT
  USING ((SELECT nullif(current_setting('app.tenant_id', true), '')) IS NULL
         AND token_hash = (SELECT decode(nullif(current_setting('app.invitation_token_hash', true), ''), 'hex')));

SELECT tenantry_internal.grant_to('tenantry.app_role', 'SELECT, INSERT, UPDATE', 'invitations');
SELECT tenantry_internal.grant_to('tenantry.service_role', 'SELECT, INSERT, UPDATE, DELETE', 'invitations');

-- Down Migration
DROP TABLE invitations;
