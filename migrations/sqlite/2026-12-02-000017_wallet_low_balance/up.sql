-- A wallet's balance (in credits) below which a wallet.low_balance webhook event is sent
-- (canonical decimal text, like every amount here).
ALTER TABLE wallets ADD COLUMN low_balance_threshold TEXT;
