ALTER TABLE tickets ADD COLUMN invoice_id BIGINT REFERENCES invoices (id);
UPDATE tickets SET invoice_id = (SELECT c.invoice_id FROM ticket_claims c WHERE c.ticket_id = tickets.id);
CREATE INDEX tickets_invoice ON tickets (invoice_id) WHERE invoice_id IS NOT NULL;
DROP TABLE ticket_claims;
