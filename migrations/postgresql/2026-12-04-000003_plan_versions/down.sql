-- Back to one set of terms per plan: the newest version's (the one in force from its date on).
ALTER TABLE plans
    ADD COLUMN scope TEXT NOT NULL DEFAULT '',
    ADD COLUMN hourly_rate TEXT,
    ADD COLUMN category_rates TEXT NOT NULL DEFAULT '{}',
    ADD COLUMN after_hours_multiplier TEXT NOT NULL DEFAULT '1',
    ADD COLUMN rounding_increment_minutes INTEGER NOT NULL DEFAULT 1,
    ADD COLUMN minimum_minutes INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN monthly_fee TEXT,
    ADD COLUMN included_minutes INTEGER,
    ADD COLUMN incident_fee TEXT,
    ADD COLUMN chargeable_categories TEXT NOT NULL DEFAULT '[]',
    ADD COLUMN hours_of_service TEXT NOT NULL DEFAULT '{}',
    ADD COLUMN contact_methods TEXT NOT NULL DEFAULT '[]';

UPDATE plans SET (scope, hourly_rate, category_rates, after_hours_multiplier, rounding_increment_minutes,
    minimum_minutes, monthly_fee, included_minutes, incident_fee, chargeable_categories, hours_of_service,
    contact_methods) = (
    SELECT v.scope, v.hourly_rate, v.category_rates, v.after_hours_multiplier, v.rounding_increment_minutes,
        v.minimum_minutes, v.monthly_fee, v.included_minutes, v.incident_fee, v.chargeable_categories,
        v.hours_of_service, v.contact_methods
    FROM plan_versions v WHERE v.plan_id = plans.id ORDER BY v.effective_from DESC LIMIT 1)
WHERE EXISTS (SELECT 1 FROM plan_versions v WHERE v.plan_id = plans.id);

ALTER TABLE plans
    ALTER COLUMN scope DROP DEFAULT,
    ALTER COLUMN category_rates DROP DEFAULT,
    ALTER COLUMN after_hours_multiplier DROP DEFAULT,
    ALTER COLUMN rounding_increment_minutes DROP DEFAULT,
    ALTER COLUMN minimum_minutes DROP DEFAULT,
    ALTER COLUMN chargeable_categories DROP DEFAULT,
    ALTER COLUMN hours_of_service DROP DEFAULT,
    ALTER COLUMN contact_methods DROP DEFAULT;

DROP TABLE plan_versions;
