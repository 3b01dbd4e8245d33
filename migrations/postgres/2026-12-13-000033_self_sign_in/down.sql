DELETE FROM portal_sessions WHERE created_by_key_id IS NULL;
ALTER TABLE portal_sessions ALTER COLUMN created_by_key_id SET NOT NULL;
