DROP TABLE idempotency_keys;
DROP TABLE customers;
DROP TABLE api_keys;
DROP TABLE tenants;
DROP AGGREGATE dec_sum(NUMERIC);
DROP FUNCTION dec_add(NUMERIC, NUMERIC);
