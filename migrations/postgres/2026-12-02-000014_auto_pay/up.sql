-- Auto-pay: a customer's new invoices are collected at once (wallet, then the default method).
ALTER TABLE customers ADD COLUMN auto_pay BOOLEAN NOT NULL DEFAULT FALSE;
