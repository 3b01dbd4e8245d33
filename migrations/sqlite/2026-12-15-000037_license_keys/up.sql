-- License keys: a plan's policy for issuing them, the keys (sealed; found by digest; at most
-- one per subscription) and their activations. A key's live activations are counted on the key
-- and grow only by a conditional update, so its activation limit holds exactly under races.
ALTER TABLE plans ADD COLUMN license_keys TEXT;

CREATE TABLE license_keys (
    id               TEXT PRIMARY KEY NOT NULL,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    customer_id      TEXT NOT NULL REFERENCES customers (id),
    subscription_id  TEXT REFERENCES subscriptions (id),
    sealed_key       TEXT NOT NULL,
    key_digest       TEXT NOT NULL UNIQUE,
    activation_limit INTEGER CHECK (activation_limit > 0),
    activations      INTEGER NOT NULL DEFAULT 0
                     CHECK (activations >= 0 AND (activation_limit IS NULL OR activations <= activation_limit)),
    with_subscription BOOLEAN NOT NULL,
    expires_at       TEXT,
    disabled_at      TEXT,
    created_at       TEXT NOT NULL
);
-- NULLs are distinct: keys issued by hand have no subscription.
CREATE UNIQUE INDEX license_keys_subscription ON license_keys (tenant_id, subscription_id);
CREATE INDEX license_keys_customer ON license_keys (tenant_id, customer_id, id);
CREATE INDEX license_keys_tenant ON license_keys (tenant_id, id);

CREATE TABLE license_activations (
    id             TEXT PRIMARY KEY NOT NULL,
    tenant_id      TEXT NOT NULL REFERENCES tenants (id),
    license_key_id TEXT NOT NULL REFERENCES license_keys (id),
    label          TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    deactivated_at TEXT
);
CREATE INDEX license_activations_key ON license_activations (tenant_id, license_key_id, id);
