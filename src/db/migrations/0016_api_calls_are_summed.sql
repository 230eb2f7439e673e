-- Up Migration
-- The API-call meter writes a tenant's calls as one event per flush and hour, its quantity the
-- number of calls, instead of a row per request. `api_calls` therefore adds up quantities
-- (`sum`) rather than counting events (`count`). Every event stored before this carries
-- quantity 1, so the two readings agree on all history, rollups included; nothing is rewritten.
UPDATE usage_metrics SET aggregation = 'sum' WHERE key = 'api_calls' AND aggregation = 'count';

-- Down Migration
-- Events written since hold several calls each: counting them would under-report those periods.
UPDATE usage_metrics SET aggregation = 'count' WHERE key = 'api_calls' AND aggregation = 'sum';
