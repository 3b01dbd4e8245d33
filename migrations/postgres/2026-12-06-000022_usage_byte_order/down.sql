ALTER TABLE usage_rollups
    ALTER COLUMN tenant_id TYPE TEXT COLLATE "default",
    ALTER COLUMN customer_id TYPE TEXT COLLATE "default",
    ALTER COLUMN feature_key TYPE TEXT COLLATE "default";
ALTER TABLE usage_events
    ALTER COLUMN id TYPE TEXT COLLATE "default",
    ALTER COLUMN tenant_id TYPE TEXT COLLATE "default",
    ALTER COLUMN event_id TYPE TEXT COLLATE "default",
    ALTER COLUMN customer_id TYPE TEXT COLLATE "default",
    ALTER COLUMN feature_key TYPE TEXT COLLATE "default";
