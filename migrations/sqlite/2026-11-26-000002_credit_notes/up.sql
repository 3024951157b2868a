-- SPEC 6: credit notes. Each one is issued at once (no drafts): its number comes from its own
-- gapless series (counter row 'credit_note', incremented inside the issuing transaction) and
-- its document is frozen in `snapshot`; the amounts are kept as columns for the register.
CREATE TABLE credit_notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    invoice_id BIGINT NOT NULL REFERENCES invoices (id),
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    number TEXT NOT NULL UNIQUE,
    full_credit BOOLEAN NOT NULL,
    reason TEXT NOT NULL,
    currency TEXT NOT NULL,
    issued_at TIMESTAMP NOT NULL,
    subtotal TEXT NOT NULL,
    tax_rate_percent TEXT NOT NULL,
    tax TEXT NOT NULL,
    total TEXT NOT NULL,
    snapshot TEXT NOT NULL
);
CREATE INDEX credit_notes_invoice ON credit_notes (invoice_id);
CREATE INDEX credit_notes_customer ON credit_notes (customer_id);
CREATE INDEX credit_notes_issued_at ON credit_notes (issued_at);
INSERT INTO counters (name, value) VALUES ('credit_note', 0);
