-- Up Migration
-- The tenant a mailbox message was sent for (none for mail that belongs to no tenant, such as
-- a password reset or a sign-up link), so that erasing or purging a tenant removes the copies
-- of its mail, and erasing a departed member removes that tenant's mail to them. No foreign
-- key: the mailbox is a log that erasure cleans, not part of the tenant's rows; and not named
-- tenant_id, which marks a tenant table (RLS, the query-layer filter, Citus distribution).

ALTER TABLE email_mailbox ADD COLUMN sent_for_tenant uuid;
CREATE INDEX email_mailbox_tenant_idx ON email_mailbox (sent_for_tenant) WHERE sent_for_tenant IS NOT NULL;

-- Down Migration
DROP INDEX email_mailbox_tenant_idx;
ALTER TABLE email_mailbox DROP COLUMN sent_for_tenant;
