-- Claims of time entries move to their own table: an invoice run claims hundreds of thousands
-- of entries, and inserting (entry, invoice) pairs costs a fraction of updating each entry row
-- (a new row version and an entry in every index under MVCC; BENCHMARKS.md, "claims"). The
-- primary key keeps an entry on one invoice at a time. There is no foreign key to
-- time_entries: its check locks each entry row (FOR KEY SHARE), which cost as much as the
-- update it replaces, and a claimed entry cannot be changed or deleted (service::time_entries
-- refuses it, under the customer's lock); tests/api/invariants.rs checks that no claim points
-- nowhere.
CREATE TABLE time_entry_claims (
    time_entry_id BIGINT PRIMARY KEY,
    invoice_id BIGINT NOT NULL REFERENCES invoices (id)
);
INSERT INTO time_entry_claims (time_entry_id, invoice_id)
    SELECT id, invoice_id FROM time_entries WHERE invoice_id IS NOT NULL ORDER BY id;
CREATE INDEX time_entry_claims_invoice ON time_entry_claims (invoice_id);
ALTER TABLE time_entries DROP COLUMN invoice_id;
