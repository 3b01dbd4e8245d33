-- The customer's language (BCP 47, e.g. de-DE): what portals, e-mails and documents speak to
-- them in. NULL: the merchant's default.
ALTER TABLE customers ADD COLUMN locale TEXT;
