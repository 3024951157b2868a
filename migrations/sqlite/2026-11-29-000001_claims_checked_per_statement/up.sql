-- PostgreSQL only: its foreign key from time_entry_claims to invoices becomes per-statement
-- triggers (see migrations/postgresql). SQLite keeps its foreign key, whose check is a cheap
-- in-process lookup; this migration exists so both backends have the same list.
SELECT 1;
