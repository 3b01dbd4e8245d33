DROP TABLE invoice_counters;
DROP TABLE invoices;
