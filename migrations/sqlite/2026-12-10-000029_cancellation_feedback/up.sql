-- Why a subscription was canceled and the canceller's words (cleared when a cancellation at
-- period end is taken back).
ALTER TABLE subscriptions ADD COLUMN cancellation_reason TEXT;
ALTER TABLE subscriptions ADD COLUMN cancellation_comment TEXT;
