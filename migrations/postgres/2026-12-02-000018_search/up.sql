-- Invoice number and memo search (`q`) through trigram GIN indexes, as customers have had
-- since the foundation migration.
CREATE INDEX invoices_number_trgm ON invoices USING gin (lower(number) public.gin_trgm_ops);
CREATE INDEX invoices_memo_trgm ON invoices USING gin (lower(memo) public.gin_trgm_ops);
