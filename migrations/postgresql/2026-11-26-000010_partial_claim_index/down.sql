DROP INDEX time_entries_invoice;
CREATE INDEX time_entries_invoice ON time_entries (invoice_id);
