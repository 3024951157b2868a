-- PostgreSQL only: its foreign keys from time_entries to subscriptions and tickets become
-- per-statement triggers (see migrations/postgresql). SQLite keeps its foreign keys; this
-- migration exists so both backends have the same list.
SELECT 1;
