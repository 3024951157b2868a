-- Claimed entries are found through the time index (an invoice claims only entries started
-- in its period), so time_entries needs no index on invoice_id: an index there makes every
-- claim of an invoice run maintain it (see BENCHMARKS.md).
DROP INDEX time_entries_invoice;
