-- Substring search (`q`) without scanning: FTS5 trigram indexes over the searched columns,
-- external-content tables keyed by the rows' rowids and kept in sync by triggers. A search
-- takes its candidates from the index and confirms each against the row itself, so a stale
-- index entry can never return a wrong row.
CREATE VIRTUAL TABLE customers_search USING fts5(
    name, email, external_id,
    content = 'customers', content_rowid = 'rowid', tokenize = 'trigram'
);
INSERT INTO customers_search (customers_search) VALUES ('rebuild');
CREATE TRIGGER customers_search_insert AFTER INSERT ON customers BEGIN
    INSERT INTO customers_search (rowid, name, email, external_id)
        VALUES (new.rowid, new.name, new.email, new.external_id);
END;
CREATE TRIGGER customers_search_delete AFTER DELETE ON customers BEGIN
    INSERT INTO customers_search (customers_search, rowid, name, email, external_id)
        VALUES ('delete', old.rowid, old.name, old.email, old.external_id);
END;
CREATE TRIGGER customers_search_update AFTER UPDATE OF name, email, external_id ON customers BEGIN
    INSERT INTO customers_search (customers_search, rowid, name, email, external_id)
        VALUES ('delete', old.rowid, old.name, old.email, old.external_id);
    INSERT INTO customers_search (rowid, name, email, external_id)
        VALUES (new.rowid, new.name, new.email, new.external_id);
END;

CREATE VIRTUAL TABLE invoices_search USING fts5(
    number, memo,
    content = 'invoices', content_rowid = 'rowid', tokenize = 'trigram'
);
INSERT INTO invoices_search (invoices_search) VALUES ('rebuild');
CREATE TRIGGER invoices_search_insert AFTER INSERT ON invoices BEGIN
    INSERT INTO invoices_search (rowid, number, memo) VALUES (new.rowid, new.number, new.memo);
END;
CREATE TRIGGER invoices_search_delete AFTER DELETE ON invoices BEGIN
    INSERT INTO invoices_search (invoices_search, rowid, number, memo)
        VALUES ('delete', old.rowid, old.number, old.memo);
END;
CREATE TRIGGER invoices_search_update AFTER UPDATE OF number, memo ON invoices BEGIN
    INSERT INTO invoices_search (invoices_search, rowid, number, memo)
        VALUES ('delete', old.rowid, old.number, old.memo);
    INSERT INTO invoices_search (rowid, number, memo) VALUES (new.rowid, new.number, new.memo);
END;
