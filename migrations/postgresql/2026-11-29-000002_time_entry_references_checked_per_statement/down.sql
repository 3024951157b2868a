DROP TRIGGER tickets_id_is_fixed ON tickets;
DROP TRIGGER subscriptions_id_is_fixed ON subscriptions;
DROP FUNCTION refuse_new_id();
DROP TRIGGER tickets_keep_time_entries ON tickets;
DROP FUNCTION tickets_check_no_time_entries();
DROP TRIGGER subscriptions_keep_time_entries ON subscriptions;
DROP FUNCTION subscriptions_check_no_time_entries();
DROP TRIGGER time_entries_references_exist_on_update ON time_entries;
DROP TRIGGER time_entries_references_exist_on_insert ON time_entries;
DROP FUNCTION time_entries_check_references();
ALTER TABLE time_entries ADD CONSTRAINT time_entries_ticket_id_fkey FOREIGN KEY (ticket_id) REFERENCES tickets (id);
ALTER TABLE time_entries ADD CONSTRAINT time_entries_subscription_id_fkey
    FOREIGN KEY (subscription_id) REFERENCES subscriptions (id);
