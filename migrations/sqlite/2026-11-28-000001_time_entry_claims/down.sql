CREATE TABLE time_entries_rebuilt (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subscription_id BIGINT NOT NULL REFERENCES subscriptions (id),
    ticket_id BIGINT REFERENCES tickets (id),
    agent TEXT NOT NULL,
    started_at TIMESTAMP NOT NULL,
    minutes INTEGER NOT NULL,
    category TEXT NOT NULL,
    billable BOOLEAN NOT NULL,
    description TEXT NOT NULL,
    invoice_id BIGINT REFERENCES invoices (id)
);
INSERT INTO time_entries_rebuilt (id, subscription_id, ticket_id, agent, started_at, minutes, category, billable, description, invoice_id)
    SELECT e.id, e.subscription_id, e.ticket_id, e.agent, e.started_at, e.minutes, e.category, e.billable, e.description, c.invoice_id
    FROM time_entries e LEFT JOIN time_entry_claims c ON c.time_entry_id = e.id;
DROP TABLE time_entry_claims;
DROP TABLE time_entries;
ALTER TABLE time_entries_rebuilt RENAME TO time_entries;
CREATE INDEX time_entries_subscription ON time_entries (subscription_id, started_at);
CREATE INDEX time_entries_started ON time_entries (started_at);
CREATE INDEX time_entries_invoice ON time_entries (invoice_id) WHERE invoice_id IS NOT NULL;
