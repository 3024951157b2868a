-- Plan versions (SPEC 7.2): a plan's terms, each set in force from its effective_from. The plan
-- keeps what never changes over time (name, currency, billing model).
CREATE TABLE plan_versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id BIGINT NOT NULL REFERENCES plans (id),
    effective_from DATE NOT NULL,
    created_at TIMESTAMP NOT NULL,
    scope TEXT NOT NULL,
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
    holiday_calendar_id BIGINT REFERENCES holiday_calendars (id),
    rounding_scope TEXT NOT NULL DEFAULT 'entry',
    fee_proration TEXT NOT NULL DEFAULT 'none',
    UNIQUE (plan_id, effective_from)
);

-- Every existing plan becomes one version, effective from the day it was created.
INSERT INTO plan_versions (plan_id, effective_from, created_at, scope, hourly_rate, category_rates,
    after_hours_multiplier, rounding_increment_minutes, minimum_minutes, monthly_fee, included_minutes,
    incident_fee, chargeable_categories, hours_of_service, contact_methods)
SELECT id, DATE(created_at), created_at, scope, hourly_rate, category_rates, after_hours_multiplier,
    rounding_increment_minutes, minimum_minutes, monthly_fee, included_minutes, incident_fee,
    chargeable_categories, hours_of_service, contact_methods
FROM plans ORDER BY id;

ALTER TABLE plans DROP COLUMN scope;
ALTER TABLE plans DROP COLUMN hourly_rate;
ALTER TABLE plans DROP COLUMN category_rates;
ALTER TABLE plans DROP COLUMN after_hours_multiplier;
ALTER TABLE plans DROP COLUMN rounding_increment_minutes;
ALTER TABLE plans DROP COLUMN minimum_minutes;
ALTER TABLE plans DROP COLUMN monthly_fee;
ALTER TABLE plans DROP COLUMN included_minutes;
ALTER TABLE plans DROP COLUMN incident_fee;
ALTER TABLE plans DROP COLUMN chargeable_categories;
ALTER TABLE plans DROP COLUMN hours_of_service;
ALTER TABLE plans DROP COLUMN contact_methods;
