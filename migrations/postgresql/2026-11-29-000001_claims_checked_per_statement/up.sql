-- An invoice run claims hundreds of thousands of time entries, 100,000 to an INSERT. The
-- foreign key from time_entry_claims to invoices checked them one row at a time: a trigger per
-- row, each an index lookup and a lock on the invoice row. That was half of claiming 414,300
-- entries in the 1M benchmark (3.1 s with the key, 1.4 s with these triggers; BENCHMARKS.md).
-- The triggers below enforce the same rule once per statement, over all its rows:
--   * a claim names an invoice that exists, and that invoice is locked FOR KEY SHARE until the
--     transaction ends, as the foreign key locked it, so a concurrent DELETE of it waits and
--     then sees the claim;
--   * an invoice that still has claims cannot be deleted, and an invoice's id never changes.
-- SQLite keeps its foreign key: its check is a cheap in-process lookup.
ALTER TABLE time_entry_claims DROP CONSTRAINT time_entry_claims_invoice_id_fkey;

CREATE FUNCTION time_entry_claims_check_invoices() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    wanted bigint;
    found bigint;
BEGIN
    SELECT count(DISTINCT invoice_id) INTO wanted FROM new_claims;
    SELECT count(*) INTO found
        FROM (SELECT 1 FROM invoices WHERE id IN (SELECT invoice_id FROM new_claims) FOR KEY SHARE) AS locked;
    IF found <> wanted THEN
        RAISE EXCEPTION 'a time entry claim names an invoice that does not exist'
            USING ERRCODE = 'foreign_key_violation', TABLE = 'time_entry_claims';
    END IF;
    RETURN NULL;
END
$$;

-- A trigger with transition tables has one event, so inserts and updates get one each.
CREATE TRIGGER time_entry_claims_invoices_exist_on_insert AFTER INSERT ON time_entry_claims
    REFERENCING NEW TABLE AS new_claims
    FOR EACH STATEMENT EXECUTE FUNCTION time_entry_claims_check_invoices();
CREATE TRIGGER time_entry_claims_invoices_exist_on_update AFTER UPDATE ON time_entry_claims
    REFERENCING NEW TABLE AS new_claims
    FOR EACH STATEMENT EXECUTE FUNCTION time_entry_claims_check_invoices();

CREATE FUNCTION invoices_check_unclaimed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM time_entry_claims c JOIN old_invoices o ON c.invoice_id = o.id) THEN
        RAISE EXCEPTION 'an invoice that claims time entries cannot be deleted'
            USING ERRCODE = 'foreign_key_violation', TABLE = 'invoices';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER invoices_keep_claimed AFTER DELETE ON invoices
    REFERENCING OLD TABLE AS old_invoices
    FOR EACH STATEMENT EXECUTE FUNCTION invoices_check_unclaimed();

CREATE FUNCTION invoices_refuse_new_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'an invoice''s id never changes' USING ERRCODE = 'foreign_key_violation', TABLE = 'invoices';
END
$$;

CREATE TRIGGER invoices_id_is_fixed BEFORE UPDATE OF id ON invoices
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id)
    EXECUTE FUNCTION invoices_refuse_new_id();
