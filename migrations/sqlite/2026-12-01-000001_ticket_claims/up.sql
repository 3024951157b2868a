-- Claims of tickets move to their own table, as the claims of time entries did
-- (2026-11-28-000001): an invoice run claims one ticket in seven, and marking each ticket row
-- rewrote it and every index of tickets (on PostgreSQL 0.7-0.8 s for the 1M benchmark's
-- 18,822 tickets, against about 0.05 s to insert the pairs; BENCHMARKS.md, finding 24).
-- The primary key keeps a ticket on one invoice at a time. As for time entries, there is no
-- foreign key to tickets: a claimed ticket cannot be deleted (service::tickets refuses it,
-- under the customer's lock), and tests/api/invariants.rs checks that no claim points nowhere.
CREATE TABLE ticket_claims (
    ticket_id INTEGER PRIMARY KEY,
    invoice_id BIGINT NOT NULL REFERENCES invoices (id)
);
INSERT INTO ticket_claims (ticket_id, invoice_id)
    SELECT id, invoice_id FROM tickets WHERE invoice_id IS NOT NULL ORDER BY id;
CREATE INDEX ticket_claims_invoice ON ticket_claims (invoice_id);

DROP INDEX tickets_invoice;
ALTER TABLE tickets DROP COLUMN invoice_id;
