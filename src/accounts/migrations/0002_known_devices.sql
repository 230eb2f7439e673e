-- Up Migration
-- The devices a person has signed in from, as one-way fingerprints (a hash of the browser and
-- OS families and the network prefix, never the address or the user agent itself), so a
-- sign-in from a new device can be told apart and audited. Global, like users; a unit that
-- names the user (app.user_id) reads and writes that user's rows only.

CREATE TABLE known_devices (
  user_id        uuid NOT NULL REFERENCES users (id),
  fingerprint    bytea NOT NULL CHECK (length(fingerprint) = 32),
  first_seen_at  timestamptz NOT NULL DEFAULT now(),
  last_seen_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, fingerprint)
);

ALTER TABLE known_devices ENABLE ROW LEVEL SECURITY;
ALTER TABLE known_devices FORCE ROW LEVEL SECURITY;
CREATE POLICY known_devices_select ON known_devices FOR SELECT
  USING (user_id = (SELECT nullif(current_setting('app.user_id', true), '')::uuid));
CREATE POLICY known_devices_insert ON known_devices FOR INSERT
  WITH CHECK (user_id = (SELECT nullif(current_setting('app.user_id', true), '')::uuid));
CREATE POLICY known_devices_update ON known_devices FOR UPDATE
  USING (user_id = (SELECT nullif(current_setting('app.user_id', true), '')::uuid))
  WITH CHECK (user_id = (SELECT nullif(current_setting('app.user_id', true), '')::uuid));

SELECT tenantry_internal.grant_to('tenantry.app_role', 'SELECT, INSERT, UPDATE (last_seen_at)', 'known_devices');
SELECT tenantry_internal.grant_to('tenantry.service_role', 'SELECT, INSERT, UPDATE, DELETE', 'known_devices');

-- Down Migration
DROP TABLE known_devices;
