-- Claims of time entries move to their own table: an invoice run claims hundreds of thousands
-- of entries, and inserting (entry, invoice) pairs costs a fraction of updating each entry row
-- and its index (BENCHMARKS.md, "claims"). The primary key keeps an entry on one invoice at a
-- time. There is no foreign key to time_entries: its check costs as much as the update it
-- replaces, and a claimed entry cannot be changed or deleted (service::time_entries refuses it,
-- under the customer's lock); tests/api/invariants.rs checks that no claim points nowhere.
--
-- SQLite cannot drop a column that has a foreign key, so time_entries is rebuilt without it.
CREATE TABLE time_entry_claims_new_data AS
    SELECT id AS time_entry_id, invoice_id FROM time_entries WHERE invoice_id IS NOT NULL;

CREATE TABLE time_entries_rebuilt (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subscription_id BIGINT NOT NULL REFERENCES subscriptions (id),
    ticket_id BIGINT REFERENCES tickets (id),
    agent TEXT NOT NULL,
    started_at TIMESTAMP NOT NULL,
    minutes INTEGER NOT NULL,
    category TEXT NOT NULL,
    billable BOOLEAN NOT NULL,
    description TEXT NOT NULL
);
INSERT INTO time_entries_rebuilt (id, subscription_id, ticket_id, agent, started_at, minutes, category, billable, description)
    SELECT id, subscription_id, ticket_id, agent, started_at, minutes, category, billable, description FROM time_entries;
DROP TABLE time_entries;
ALTER TABLE time_entries_rebuilt RENAME TO time_entries;
CREATE INDEX time_entries_subscription ON time_entries (subscription_id, started_at);
CREATE INDEX time_entries_started ON time_entries (started_at);

CREATE TABLE time_entry_claims (
    time_entry_id INTEGER PRIMARY KEY,
    invoice_id BIGINT NOT NULL REFERENCES invoices (id)
);
INSERT INTO time_entry_claims (time_entry_id, invoice_id)
    SELECT time_entry_id, invoice_id FROM time_entry_claims_new_data ORDER BY time_entry_id;
DROP TABLE time_entry_claims_new_data;
CREATE INDEX time_entry_claims_invoice ON time_entry_claims (invoice_id);
