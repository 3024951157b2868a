-- A month's CSV import writes a million time entries in one COPY. Their foreign keys to
-- subscriptions and tickets checked each row with a trigger of its own (an index lookup and a
-- row lock on the parent): 15.0 s of COPY for the 1M benchmark's rows, 5.4 s without the keys
-- (BENCHMARKS.md). As for claims (2026-11-29-000001), triggers check the same rules once per
-- statement, over all its rows:
--   * an entry names a subscription, and a ticket if any, that exist; those rows are locked
--     FOR KEY SHARE until the transaction ends, as the foreign keys locked them, so a
--     concurrent DELETE of one waits and then sees the entry;
--   * a subscription or ticket that time entries name cannot be deleted, and their ids never
--     change.
-- SQLite keeps its foreign keys.
ALTER TABLE time_entries DROP CONSTRAINT time_entries_subscription_id_fkey;
ALTER TABLE time_entries DROP CONSTRAINT time_entries_ticket_id_fkey;

CREATE FUNCTION time_entries_check_references() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    wanted bigint;
    found bigint;
BEGIN
    SELECT count(DISTINCT subscription_id) INTO wanted FROM new_entries;
    SELECT count(*) INTO found
        FROM (SELECT 1 FROM subscriptions WHERE id IN (SELECT subscription_id FROM new_entries) FOR KEY SHARE) AS locked;
    IF found <> wanted THEN
        RAISE EXCEPTION 'a time entry names a subscription that does not exist'
            USING ERRCODE = 'foreign_key_violation', TABLE = 'time_entries';
    END IF;
    SELECT count(DISTINCT ticket_id) INTO wanted FROM new_entries;
    IF wanted > 0 THEN
        SELECT count(*) INTO found
            FROM (SELECT 1 FROM tickets WHERE id IN (SELECT ticket_id FROM new_entries) FOR KEY SHARE) AS locked;
        IF found <> wanted THEN
            RAISE EXCEPTION 'a time entry names a ticket that does not exist'
                USING ERRCODE = 'foreign_key_violation', TABLE = 'time_entries';
        END IF;
    END IF;
    RETURN NULL;
END
$$;

-- A trigger with transition tables has one event, so inserts and updates get one each.
CREATE TRIGGER time_entries_references_exist_on_insert AFTER INSERT ON time_entries
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION time_entries_check_references();
CREATE TRIGGER time_entries_references_exist_on_update AFTER UPDATE ON time_entries
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION time_entries_check_references();

CREATE FUNCTION subscriptions_check_no_time_entries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM time_entries e JOIN old_subscriptions o ON e.subscription_id = o.id) THEN
        RAISE EXCEPTION 'a subscription with time entries cannot be deleted'
            USING ERRCODE = 'foreign_key_violation', TABLE = 'subscriptions';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER subscriptions_keep_time_entries AFTER DELETE ON subscriptions
    REFERENCING OLD TABLE AS old_subscriptions
    FOR EACH STATEMENT EXECUTE FUNCTION subscriptions_check_no_time_entries();

CREATE FUNCTION tickets_check_no_time_entries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM time_entries e JOIN old_tickets o ON e.ticket_id = o.id) THEN
        RAISE EXCEPTION 'a ticket with time entries cannot be deleted'
            USING ERRCODE = 'foreign_key_violation', TABLE = 'tickets';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER tickets_keep_time_entries AFTER DELETE ON tickets
    REFERENCING OLD TABLE AS old_tickets
    FOR EACH STATEMENT EXECUTE FUNCTION tickets_check_no_time_entries();

CREATE FUNCTION refuse_new_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a row''s id never changes' USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME;
END
$$;

CREATE TRIGGER subscriptions_id_is_fixed BEFORE UPDATE OF id ON subscriptions
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION refuse_new_id();
CREATE TRIGGER tickets_id_is_fixed BEFORE UPDATE OF id ON tickets
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION refuse_new_id();
