ALTER TABLE plans DROP COLUMN tax_rate_ids;
ALTER TABLE customers DROP COLUMN tax_rate_ids;
ALTER TABLE customers DROP COLUMN tax_exempt;
DROP TABLE tax_rates;
