ALTER TABLE customers DROP COLUMN billing;
