-- Up Migration
-- Invitations live in their own per-tenant table since 0004; the single per-user token
-- columns of the first design are unused, and a dead credential column is a liability.

ALTER TABLE users DROP COLUMN invite_token_hash, DROP COLUMN invite_expires_at;

-- Down Migration
ALTER TABLE users
  ADD COLUMN invite_token_hash bytea CONSTRAINT users_invite_token_hash_key UNIQUE,
  ADD COLUMN invite_expires_at timestamptz;
