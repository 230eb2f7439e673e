-- Up Migration
-- When each memory last changed zone, stamped by the re-zoning job's set-based UPDATE, so the
-- tenant's stats can report moves (memories that moved into each zone in the last day),
-- counted in the database like the rest. NULL: never moved since it was stored.
ALTER TABLE memories ADD COLUMN zoned_at timestamptz;

-- Down Migration
ALTER TABLE memories DROP COLUMN zoned_at;
