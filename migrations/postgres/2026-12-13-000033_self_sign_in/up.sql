-- A session a customer opened by signing in with their e-mail (self sign-in) has no API key
-- behind it.
ALTER TABLE portal_sessions ALTER COLUMN created_by_key_id DROP NOT NULL;
