CREATE TABLE wallets (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    customer_id      TEXT NOT NULL REFERENCES customers (id),
    name             TEXT NOT NULL,
    currency         TEXT NOT NULL,
    conversion_rate  NUMERIC NOT NULL CHECK (conversion_rate > 0),
    status           TEXT NOT NULL CHECK (status IN ('active', 'frozen', 'closed')),
    balance          NUMERIC NOT NULL CHECK (balance >= 0),
    -- Number of ledger entries so far: the next entry is ledger_seq + 1.
    ledger_seq       BIGINT NOT NULL DEFAULT 0,
    -- Earliest expiry among the live lots: reads apply expiries when it has passed.
    next_expiry_at   TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX wallets_customer ON wallets (tenant_id, customer_id, id);
CREATE INDEX wallets_tenant ON wallets (tenant_id, id);
CREATE INDEX wallets_next_expiry ON wallets (next_expiry_at) WHERE next_expiry_at IS NOT NULL;

CREATE TABLE credit_lots (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    wallet_id    TEXT NOT NULL REFERENCES wallets (id),
    kind         TEXT NOT NULL CHECK (kind IN ('purchased', 'promotional')),
    priority     INTEGER NOT NULL,
    granted      NUMERIC NOT NULL CHECK (granted > 0),
    available    NUMERIC NOT NULL CHECK (available >= 0 AND available <= granted),
    expires_at   TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX credit_lots_live ON credit_lots (wallet_id) WHERE available <> 0;

CREATE TABLE wallet_transactions (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    wallet_id        TEXT NOT NULL REFERENCES wallets (id),
    seq              BIGINT NOT NULL,
    type             TEXT NOT NULL CHECK (type IN ('credit', 'debit', 'expiry', 'void')),
    credits          NUMERIC NOT NULL CHECK (credits > 0),
    value            NUMERIC NOT NULL,
    balance_before   NUMERIC NOT NULL,
    balance_after    NUMERIC NOT NULL CHECK (balance_after >= 0),
    reason           TEXT NOT NULL,
    description      TEXT,
    reference        TEXT,
    idempotency_key  TEXT,
    allocations      TEXT NOT NULL,   -- JSON [{lot_id, kind, credits}]
    created_at       TIMESTAMPTZ NOT NULL
);
-- The ledger's order; unique, so two writers can never both append entry N.
CREATE UNIQUE INDEX wallet_transactions_seq ON wallet_transactions (wallet_id, seq);
