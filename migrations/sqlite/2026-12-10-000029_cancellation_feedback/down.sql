ALTER TABLE subscriptions DROP COLUMN cancellation_comment;
ALTER TABLE subscriptions DROP COLUMN cancellation_reason;
