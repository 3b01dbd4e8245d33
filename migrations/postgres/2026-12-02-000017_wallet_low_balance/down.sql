ALTER TABLE wallets DROP COLUMN low_balance_threshold;
