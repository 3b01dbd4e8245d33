DROP TABLE license_activations;
DROP TABLE license_keys;
ALTER TABLE plans DROP COLUMN license_keys;
