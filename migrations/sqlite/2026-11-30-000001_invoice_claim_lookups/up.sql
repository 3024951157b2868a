-- Deleting a draft or voiding an invoice frees the tickets and charges it claimed
-- (`UPDATE ... WHERE invoice_id = ?`), and deleting the invoice row makes the foreign keys of
-- tickets and charges look for rows still naming it. Without an index on those columns each
-- of these read the whole table: 110 ms per draft on SQLite with the 1M benchmark's 125,000
-- tickets, growing with every month kept (BENCHMARKS.md, finding 23). Partial: only claimed
-- rows are indexed, and `invoice_id = ?` implies `invoice_id IS NOT NULL`.
CREATE INDEX tickets_invoice ON tickets (invoice_id) WHERE invoice_id IS NOT NULL;
CREATE INDEX charges_invoice ON charges (invoice_id) WHERE invoice_id IS NOT NULL;
