-- Nothing to change on SQLite: its foreign keys on usage_events stay. A key check here is one
-- index lookup inside the single writer's transaction, with no lock on the parent row (on
-- PostgreSQL the keys are dropped by this migration: see migrations/postgres).
SELECT 1;
