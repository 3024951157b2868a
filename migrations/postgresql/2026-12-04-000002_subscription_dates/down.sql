ALTER TABLE subscriptions DROP COLUMN end_date;
ALTER TABLE subscriptions DROP COLUMN start_date;
