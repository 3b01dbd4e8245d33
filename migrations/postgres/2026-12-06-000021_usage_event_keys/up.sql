-- Usage events name their account and customer without foreign keys on PostgreSQL. A key
-- checks each inserted event with a locking read of the parent row (FOR KEY SHARE): a thousand
-- such reads per batch, and concurrent batches of one account share the lock on its one
-- tenants row, which PostgreSQL records as a multixact written to that row. Ingestion inserts
-- only customers it has just resolved in the key's account, and accounts and customers are
-- never deleted (customers are archived), so the keys checked nothing the insert did not.
ALTER TABLE usage_events DROP CONSTRAINT usage_events_tenant_id_fkey;
ALTER TABLE usage_events DROP CONSTRAINT usage_events_customer_id_fkey;
