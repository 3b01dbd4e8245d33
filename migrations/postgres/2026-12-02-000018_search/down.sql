DROP INDEX invoices_memo_trgm;
DROP INDEX invoices_number_trgm;
