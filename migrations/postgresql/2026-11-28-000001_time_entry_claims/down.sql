ALTER TABLE time_entries ADD COLUMN invoice_id BIGINT REFERENCES invoices (id);
UPDATE time_entries SET invoice_id = c.invoice_id FROM time_entry_claims c WHERE c.time_entry_id = time_entries.id;
CREATE INDEX time_entries_invoice ON time_entries (invoice_id) WHERE invoice_id IS NOT NULL;
DROP TABLE time_entry_claims;
