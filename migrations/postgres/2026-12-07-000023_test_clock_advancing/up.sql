-- Test clocks advance in the background: `advancing` until the billing workers have run
-- everything due up to `advancing_to`, in bounded batches, then `ready` at that time. A worker
-- holds a clock it is advancing until `lease_until` (another takes over after a crash).
ALTER TABLE test_clocks ADD COLUMN status TEXT NOT NULL DEFAULT 'ready';
ALTER TABLE test_clocks ADD COLUMN advancing_to TIMESTAMPTZ;
ALTER TABLE test_clocks ADD COLUMN lease_until TIMESTAMPTZ;
CREATE INDEX test_clocks_advancing ON test_clocks (updated_at) WHERE status = 'advancing';
