DELETE FROM portal_sessions WHERE created_by_key_id IS NULL;
