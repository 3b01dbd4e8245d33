DROP INDEX test_clocks_advancing;
ALTER TABLE test_clocks DROP COLUMN lease_until;
ALTER TABLE test_clocks DROP COLUMN advancing_to;
ALTER TABLE test_clocks DROP COLUMN status;
