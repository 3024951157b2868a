-- SPEC 7.1: a subscription covers [start_date, end_date); end_date is exclusive and optional.
-- SQLite cannot make a column NOT NULL after adding it (short of rebuilding a table that five
-- others reference), so start_date comes with a placeholder default that the backfill below
-- replaces in every row; every insert of the service names start_date.
ALTER TABLE subscriptions ADD COLUMN start_date DATE NOT NULL DEFAULT '2000-01-01';
ALTER TABLE subscriptions ADD COLUMN end_date DATE;

-- Backfill (SPEC 7.1): the first day of the month of the earliest of the subscription's
-- creation and its oldest time entry (UTC date of started_at), ticket (opened_at) or charge
-- (date), so that no existing item falls before it. (SQLite's min() of several arguments is
-- NULL when one is, hence the coalesce to the creation date.)
UPDATE subscriptions SET start_date = date(min(
    date(created_at),
    coalesce((SELECT date(min(e.started_at)) FROM time_entries e WHERE e.subscription_id = subscriptions.id), date(created_at)),
    coalesce((SELECT date(min(t.opened_at)) FROM tickets t WHERE t.subscription_id = subscriptions.id), date(created_at)),
    coalesce((SELECT min(c.date) FROM charges c WHERE c.subscription_id = subscriptions.id), date(created_at))
), 'start of month');

-- Cancelled subscriptions end on the first day of the month after the latest of their last
-- update and their newest entry, ticket or charge. There is no updated_at column: the last
-- update is the newest audit row of the subscription (docs/decisions.md, "Subscription
-- dates"), else its creation.
UPDATE subscriptions SET end_date = date(max(
    date(created_at),
    coalesce((SELECT date(max(a.at)) FROM audit_log a
              WHERE a.resource_type = 'subscription' AND a.resource_id = subscriptions.id), date(created_at)),
    coalesce((SELECT date(max(e.started_at)) FROM time_entries e WHERE e.subscription_id = subscriptions.id), date(created_at)),
    coalesce((SELECT date(max(t.opened_at)) FROM tickets t WHERE t.subscription_id = subscriptions.id), date(created_at)),
    coalesce((SELECT max(c.date) FROM charges c WHERE c.subscription_id = subscriptions.id), date(created_at))
), 'start of month', '+1 month')
WHERE status = 'cancelled';
