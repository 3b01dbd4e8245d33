-- A debit reads a wallet's live lots in consumption order (priority, then expiry with
-- never-expiring last, then age) and stops at the lots it needs; expiries read the live lots
-- that expire soonest. With these, a wallet with thousands of live lots is charged by reading
-- a few index entries. (Queries spell the predicate `available <> 0` the same way.)
-- credit_lots_draw starts with the wallet and holds only live lots: it also serves loading every
-- live lot of a wallet, which credit_lots_live did.
CREATE INDEX credit_lots_draw ON credit_lots
    (wallet_id, priority, (expires_at IS NULL), expires_at, created_at, id) WHERE available <> 0;
CREATE INDEX credit_lots_expiring ON credit_lots
    (wallet_id, expires_at, id) WHERE available <> 0 AND expires_at IS NOT NULL;
DROP INDEX credit_lots_live;
