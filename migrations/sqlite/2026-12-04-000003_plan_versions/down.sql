-- Back to one set of terms per plan: the newest version's (the one in force from its date on).
ALTER TABLE plans ADD COLUMN scope TEXT NOT NULL DEFAULT '';
ALTER TABLE plans ADD COLUMN hourly_rate TEXT;
ALTER TABLE plans ADD COLUMN category_rates TEXT NOT NULL DEFAULT '{}';
ALTER TABLE plans ADD COLUMN after_hours_multiplier TEXT NOT NULL DEFAULT '1';
ALTER TABLE plans ADD COLUMN rounding_increment_minutes INTEGER NOT NULL DEFAULT 1;
ALTER TABLE plans ADD COLUMN minimum_minutes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE plans ADD COLUMN monthly_fee TEXT;
ALTER TABLE plans ADD COLUMN included_minutes INTEGER;
ALTER TABLE plans ADD COLUMN incident_fee TEXT;
ALTER TABLE plans ADD COLUMN chargeable_categories TEXT NOT NULL DEFAULT '[]';
ALTER TABLE plans ADD COLUMN hours_of_service TEXT NOT NULL DEFAULT '{}';
ALTER TABLE plans ADD COLUMN contact_methods TEXT NOT NULL DEFAULT '[]';

UPDATE plans SET (scope, hourly_rate, category_rates, after_hours_multiplier, rounding_increment_minutes,
    minimum_minutes, monthly_fee, included_minutes, incident_fee, chargeable_categories, hours_of_service,
    contact_methods) = (
    SELECT v.scope, v.hourly_rate, v.category_rates, v.after_hours_multiplier, v.rounding_increment_minutes,
        v.minimum_minutes, v.monthly_fee, v.included_minutes, v.incident_fee, v.chargeable_categories,
        v.hours_of_service, v.contact_methods
    FROM plan_versions v WHERE v.plan_id = plans.id ORDER BY v.effective_from DESC LIMIT 1)
WHERE EXISTS (SELECT 1 FROM plan_versions v WHERE v.plan_id = plans.id);

DROP TABLE plan_versions;
