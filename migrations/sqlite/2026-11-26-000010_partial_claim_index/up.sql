-- Only claimed entries need finding by invoice (to free them on void, credit or delete).
-- A partial index skips the unclaimed majority: imports no longer maintain it, and a claim
-- inserts one entry instead of moving one (see BENCHMARKS.md).
DROP INDEX time_entries_invoice;
CREATE INDEX time_entries_invoice ON time_entries (invoice_id) WHERE invoice_id IS NOT NULL;
