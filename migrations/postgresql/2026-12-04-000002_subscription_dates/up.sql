-- SPEC 7.1: a subscription covers [start_date, end_date); end_date is exclusive and optional.
ALTER TABLE subscriptions ADD COLUMN start_date DATE;
ALTER TABLE subscriptions ADD COLUMN end_date DATE;

-- Backfill (SPEC 7.1): the first day of the month of the earliest of the subscription's
-- creation and its oldest time entry (UTC date of started_at), ticket (opened_at) or charge
-- (date), so that no existing item falls before it. (LEAST and GREATEST skip NULLs.)
UPDATE subscriptions s SET start_date = date_trunc('month', LEAST(
    s.created_at,
    (SELECT min(e.started_at) FROM time_entries e WHERE e.subscription_id = s.id),
    (SELECT min(t.opened_at) FROM tickets t WHERE t.subscription_id = s.id),
    (SELECT min(c.date) FROM charges c WHERE c.subscription_id = s.id)::timestamp
))::date;

-- Cancelled subscriptions end on the first day of the month after the latest of their last
-- update and their newest entry, ticket or charge. There is no updated_at column: the last
-- update is the newest audit row of the subscription (docs/decisions.md, "Subscription
-- dates"), else its creation.
UPDATE subscriptions s SET end_date = (date_trunc('month', GREATEST(
    s.created_at,
    (SELECT max(a.at) FROM audit_log a WHERE a.resource_type = 'subscription' AND a.resource_id = s.id),
    (SELECT max(e.started_at) FROM time_entries e WHERE e.subscription_id = s.id),
    (SELECT max(t.opened_at) FROM tickets t WHERE t.subscription_id = s.id),
    (SELECT max(c.date) FROM charges c WHERE c.subscription_id = s.id)::timestamp
)) + interval '1 month')::date
WHERE s.status = 'cancelled';

ALTER TABLE subscriptions ALTER COLUMN start_date SET NOT NULL;
