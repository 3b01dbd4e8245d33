-- Wallets whose credit lots are to be checked against their balance once, and rewritten from
-- the ledger where they disagree: earlier versions could leave a drawn lot unwritten (a debit
-- reordered the lots it had read, and lots were matched by position). The server works through
-- this list in the background and removes each wallet it has checked.
CREATE TABLE wallet_lot_checks (
    wallet_id TEXT PRIMARY KEY NOT NULL REFERENCES wallets (id),
    tenant_id TEXT NOT NULL
);
INSERT INTO wallet_lot_checks (wallet_id, tenant_id) SELECT id, tenant_id FROM wallets;
