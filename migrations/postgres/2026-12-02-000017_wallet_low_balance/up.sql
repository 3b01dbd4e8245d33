-- A wallet's balance (in credits) below which a wallet.low_balance webhook event is sent.
ALTER TABLE wallets ADD COLUMN low_balance_threshold NUMERIC CHECK (low_balance_threshold >= 0);
