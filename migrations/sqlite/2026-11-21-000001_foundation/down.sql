DROP TABLE idempotency_keys;
DROP TABLE customers;
DROP TABLE api_keys;
DROP TABLE tenants;
