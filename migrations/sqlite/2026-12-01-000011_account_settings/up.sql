-- The merchant's presentation settings (address, support contacts, logo, colours, invoice
-- footer) as one JSON document; every field is optional.
ALTER TABLE tenants ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
