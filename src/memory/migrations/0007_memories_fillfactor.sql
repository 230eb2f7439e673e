-- Up Migration
-- Room on each page of memories for the writes recall makes, so they touch no index.
--
-- Recalling a memory raises its recall_count and sets last_recalled_at (recall-reinforcement.ts,
-- batched). Neither column is indexed, so PostgreSQL can write the new row version as a HOT
-- update, which adds no index entry, but only when the page has room for it; at the default
-- fillfactor (100) a page has none, and every reinforced memory put ~100 trigram entries and its
-- lexemes into the GIN indexes' pending lists, which every recall's index scan then reads through
-- (measured on a copy of the bench's rows: 0 of 200 updates HOT and 67 pending trigram pages at
-- 100; 379 of 400 HOT at 90). A store's reinforcement (importance, updated_at) is HOT the same way.
--
-- It applies to pages written from now on; rows already stored move as they are updated or when
-- an operator rewrites the table (VACUUM FULL, pg_repack), which this migration does not do.

ALTER TABLE memories SET (fillfactor = 90);

-- Down Migration
ALTER TABLE memories RESET (fillfactor);
