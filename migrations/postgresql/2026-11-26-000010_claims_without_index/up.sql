-- Claimed entries are found through the time index (an invoice claims only entries started
-- in its period), so time_entries needs no index on invoice_id. Without one, and with free
-- space left in each page, claiming an entry is a HOT update: no new index entries at all,
-- where before every claim added a version to each of the table's four indexes (see
-- BENCHMARKS.md). The fill factor applies to pages written from now on.
DROP INDEX time_entries_invoice;
ALTER TABLE time_entries SET (fillfactor = 80);
