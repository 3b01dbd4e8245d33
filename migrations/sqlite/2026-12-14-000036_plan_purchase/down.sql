ALTER TABLE plans DROP COLUMN contact_url;
ALTER TABLE plans DROP COLUMN purchase;
