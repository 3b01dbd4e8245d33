ALTER TABLE usage_events ADD CONSTRAINT usage_events_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id);
ALTER TABLE usage_events ADD CONSTRAINT usage_events_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers (id);
