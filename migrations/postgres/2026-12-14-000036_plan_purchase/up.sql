-- How a customer gets a plan: on their own in the portal (self_serve), or through the merchant
-- (contact_sales: the portal shows a "Contact us" link to contact_url instead).
ALTER TABLE plans ADD COLUMN purchase TEXT NOT NULL DEFAULT 'self_serve' CHECK (purchase IN ('self_serve', 'contact_sales'));
ALTER TABLE plans ADD COLUMN contact_url TEXT;
