-- Up Migration
-- Transactional email: the ledger of messages handed to a mail server (or the local mailbox),
-- which makes delivery idempotent, and the local mailbox the embedded default writes to.
-- Both are platform tables with no tenant: an email belongs to its recipient, and a password
-- reset belongs to no tenant at all. Only the service role reaches them (the sender, the
-- operator's `tenantry mail` and GET /v1/admin/mail); RLS is forced with no policy, so any
-- other role that were ever granted a privilege would still read nothing.

CREATE TABLE email_deliveries (
  -- The Message-ID's local part: the outbox message's id, or one minted for a direct send.
  message_id  text PRIMARY KEY CHECK (length(message_id) BETWEEN 1 AND 200),
  sent_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE email_mailbox (
  id          uuid PRIMARY KEY,
  message_id  text NOT NULL CONSTRAINT email_mailbox_message_id_key UNIQUE,
  sender      text NOT NULL,
  recipient   text NOT NULL,
  subject     text NOT NULL,
  text_body   text NOT NULL,
  html_body   text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX email_mailbox_newest_idx ON email_mailbox (created_at DESC, id DESC);
CREATE INDEX email_mailbox_recipient_idx ON email_mailbox (lower(recipient), created_at DESC);

ALTER TABLE email_deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE email_deliveries FORCE ROW LEVEL SECURITY;
ALTER TABLE email_mailbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE email_mailbox FORCE ROW LEVEL SECURITY;

SELECT tenantry_internal.grant_to('tenantry.service_role', 'SELECT, INSERT, DELETE', 'email_deliveries');
SELECT tenantry_internal.grant_to('tenantry.service_role', 'SELECT, INSERT, DELETE', 'email_mailbox');

-- Down Migration
DROP TABLE email_mailbox, email_deliveries;
