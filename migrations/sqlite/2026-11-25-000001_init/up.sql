-- supportbill schema, SQLite flavour. Money, rates and weighted minutes are TEXT holding exact
-- decimals (never NUMERIC: SQLite reads that through a float). Timestamps are UTC.
CREATE TABLE partner (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    country TEXT NOT NULL,
    tax_id TEXT NOT NULL,
    invoice_prefix TEXT NOT NULL,
    payment_terms_days INTEGER NOT NULL
);
INSERT INTO partner (id, name, address, country, tax_id, invoice_prefix, payment_terms_days)
VALUES (1, 'Unnamed partner', '', '', '', 'INV-', 30);

-- Gapless series (invoice numbers): updated inside the issuing transaction.
CREATE TABLE counters (
    name TEXT PRIMARY KEY NOT NULL,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('invoice', 0);

CREATE TABLE customers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    billing_address TEXT NOT NULL,
    email TEXT NOT NULL,
    country TEXT NOT NULL,
    currency TEXT NOT NULL,
    tax_rate_percent TEXT NOT NULL,
    tax_id TEXT NOT NULL,
    external_id TEXT UNIQUE,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE plans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    scope TEXT NOT NULL,
    currency TEXT NOT NULL,
    billing_model TEXT NOT NULL,
    hourly_rate TEXT,
    category_rates TEXT NOT NULL,
    after_hours_multiplier TEXT NOT NULL,
    rounding_increment_minutes INTEGER NOT NULL,
    minimum_minutes INTEGER NOT NULL,
    monthly_fee TEXT,
    included_minutes INTEGER,
    incident_fee TEXT,
    chargeable_categories TEXT NOT NULL,
    hours_of_service TEXT NOT NULL,
    contact_methods TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE subscriptions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    plan_id BIGINT NOT NULL REFERENCES plans (id),
    product TEXT NOT NULL,
    name TEXT NOT NULL,
    external_id TEXT UNIQUE,
    status TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX subscriptions_customer ON subscriptions (customer_id);

CREATE TABLE invoices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    currency TEXT NOT NULL,
    period_start DATE NOT NULL,
    period_end DATE NOT NULL,
    status TEXT NOT NULL,
    number TEXT UNIQUE,
    issued_at TIMESTAMP,
    due_date DATE,
    subtotal TEXT NOT NULL,
    tax_rate_percent TEXT NOT NULL,
    tax TEXT NOT NULL,
    total TEXT NOT NULL,
    snapshot TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX invoices_customer ON invoices (customer_id);
CREATE INDEX invoices_issued_at ON invoices (issued_at);

CREATE TABLE invoice_lines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    invoice_id BIGINT NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    subscription_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    category TEXT,
    month DATE,
    description TEXT NOT NULL,
    quantity TEXT NOT NULL,
    quantity_minutes TEXT,
    unit_price TEXT NOT NULL,
    amount TEXT NOT NULL
);
CREATE INDEX invoice_lines_invoice ON invoice_lines (invoice_id, position);

CREATE TABLE tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subscription_id BIGINT NOT NULL REFERENCES subscriptions (id),
    title TEXT NOT NULL,
    category TEXT NOT NULL,
    severity TEXT NOT NULL,
    opened_at TIMESTAMP NOT NULL,
    closed_at TIMESTAMP,
    escalation_channel TEXT,
    escalation_case_id TEXT,
    escalated_at TIMESTAMP,
    invoice_id BIGINT REFERENCES invoices (id)
);
CREATE INDEX tickets_subscription ON tickets (subscription_id, opened_at);

CREATE TABLE time_entries (
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
CREATE INDEX time_entries_subscription ON time_entries (subscription_id, started_at);
CREATE INDEX time_entries_started ON time_entries (started_at);
CREATE INDEX time_entries_invoice ON time_entries (invoice_id);

CREATE TABLE charges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subscription_id BIGINT NOT NULL REFERENCES subscriptions (id),
    date DATE NOT NULL,
    description TEXT NOT NULL,
    amount TEXT NOT NULL,
    invoice_id BIGINT REFERENCES invoices (id)
);
CREATE INDEX charges_subscription ON charges (subscription_id, date);

-- A retainer month's fee and allowance, as taken by one draft or issued invoice (SPEC P6).
-- Rows are deleted when their invoice is deleted or voided, which frees the claim.
CREATE TABLE retainer_claims (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    invoice_id BIGINT NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    subscription_id BIGINT NOT NULL REFERENCES subscriptions (id),
    month DATE NOT NULL,
    fee_claimed BOOLEAN NOT NULL,
    allowance_used TEXT NOT NULL
);
CREATE INDEX retainer_claims_subscription ON retainer_claims (subscription_id, month);
-- The database itself refuses a second claim on one month's fee.
CREATE UNIQUE INDEX retainer_claims_one_fee ON retainer_claims (subscription_id, month) WHERE fee_claimed;

CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    customer_id BIGINT REFERENCES customers (id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
