CREATE INDEX credit_lots_live ON credit_lots (wallet_id) WHERE available <> 0;
DROP INDEX credit_lots_expiring;
DROP INDEX credit_lots_draw;
