-- Amounts are canonical decimal TEXT (numeric checks live in the domain, which refuses to write
-- a change that breaks an invariant); timestamps are fixed-width RFC 3339 TEXT.
CREATE TABLE wallets (
    id               TEXT PRIMARY KEY NOT NULL,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    customer_id      TEXT NOT NULL REFERENCES customers (id),
    name             TEXT NOT NULL,
    currency         TEXT NOT NULL,
    conversion_rate  TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('active', 'frozen', 'closed')),
    balance          TEXT NOT NULL CHECK (balance NOT LIKE '-%'),
    -- Number of ledger entries so far: the next entry is ledger_seq + 1.
    ledger_seq       BIGINT NOT NULL DEFAULT 0,
    next_expiry_at   TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX wallets_customer ON wallets (tenant_id, customer_id, id);
CREATE INDEX wallets_tenant ON wallets (tenant_id, id);
CREATE INDEX wallets_next_expiry ON wallets (next_expiry_at) WHERE next_expiry_at IS NOT NULL;

CREATE TABLE credit_lots (
    id           TEXT PRIMARY KEY NOT NULL,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    wallet_id    TEXT NOT NULL REFERENCES wallets (id),
    kind         TEXT NOT NULL CHECK (kind IN ('purchased', 'promotional')),
    priority     INTEGER NOT NULL,
    granted      TEXT NOT NULL,
    available    TEXT NOT NULL CHECK (available NOT LIKE '-%'),
    expires_at   TEXT,
    created_at   TEXT NOT NULL
);
CREATE INDEX credit_lots_live ON credit_lots (wallet_id) WHERE available <> '0';

CREATE TABLE wallet_transactions (
    id               TEXT PRIMARY KEY NOT NULL,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    wallet_id        TEXT NOT NULL REFERENCES wallets (id),
    seq              BIGINT NOT NULL,
    type             TEXT NOT NULL CHECK (type IN ('credit', 'debit', 'expiry', 'void')),
    credits          TEXT NOT NULL,
    value            TEXT NOT NULL,
    balance_before   TEXT NOT NULL,
    balance_after    TEXT NOT NULL CHECK (balance_after NOT LIKE '-%'),
    reason           TEXT NOT NULL,
    description      TEXT,
    reference        TEXT,
    idempotency_key  TEXT,
    allocations      TEXT NOT NULL,
    created_at       TEXT NOT NULL
);
-- The ledger's order; unique, so two writers can never both append entry N.
CREATE UNIQUE INDEX wallet_transactions_seq ON wallet_transactions (wallet_id, seq);
