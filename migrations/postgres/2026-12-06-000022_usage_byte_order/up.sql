-- The text keys of usage events and rollups compare byte by byte (collation "C"), as SQLite
-- compares all text. Under a linguistic collation (the database default, e.g. en_US.UTF-8 or
-- C.UTF-8) every index comparison goes through strcoll: with three indexes on usage_events and
-- a thousand events a batch, that was about a fifth of PostgreSQL's time at ingestion. These
-- columns hold identifiers and keys, never text a person sorts: they are compared for equality,
-- and only `id` is ordered (a prefix and lowercase base32, ordered alike under either collation).
ALTER TABLE usage_events
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN tenant_id TYPE TEXT COLLATE "C",
    ALTER COLUMN event_id TYPE TEXT COLLATE "C",
    ALTER COLUMN customer_id TYPE TEXT COLLATE "C",
    ALTER COLUMN feature_key TYPE TEXT COLLATE "C";
ALTER TABLE usage_rollups
    ALTER COLUMN tenant_id TYPE TEXT COLLATE "C",
    ALTER COLUMN customer_id TYPE TEXT COLLATE "C",
    ALTER COLUMN feature_key TYPE TEXT COLLATE "C";
