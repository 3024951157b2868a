-- Claims of tickets move to their own table, as the claims of time entries did
-- (2026-11-28-000001): an invoice run claims one ticket in seven, and marking each ticket row
-- wrote a new version of it and an entry in each of tickets' five indexes (0.7-0.8 s for the 1M
-- benchmark's 18,822 tickets, against about 0.05 s to insert the pairs; BENCHMARKS.md,
-- finding 24). The primary key keeps a ticket on one invoice at a time. As for time entries,
-- there is no foreign key to tickets: a claimed ticket cannot be deleted (service::tickets
-- refuses it, under the customer's lock), and tests/api/invariants.rs checks that no claim
-- points nowhere. The key to invoices is checked once per statement, as for time entries
-- (2026-11-29-000001).
CREATE TABLE ticket_claims (
    ticket_id BIGINT PRIMARY KEY,
    invoice_id BIGINT NOT NULL
);
INSERT INTO ticket_claims (ticket_id, invoice_id)
    SELECT id, invoice_id FROM tickets WHERE invoice_id IS NOT NULL ORDER BY id;
CREATE INDEX ticket_claims_invoice ON ticket_claims (invoice_id);

ALTER TABLE tickets DROP COLUMN invoice_id;

CREATE FUNCTION ticket_claims_check_invoices() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    wanted bigint;
    found bigint;
BEGIN
    SELECT count(DISTINCT invoice_id) INTO wanted FROM new_claims;
    SELECT count(*) INTO found
        FROM (SELECT 1 FROM invoices WHERE id IN (SELECT invoice_id FROM new_claims) FOR KEY SHARE) AS locked;
    IF found <> wanted THEN
        RAISE EXCEPTION 'a ticket claim names an invoice that does not exist'
            USING ERRCODE = 'foreign_key_violation', TABLE = 'ticket_claims';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER ticket_claims_invoices_exist_on_insert AFTER INSERT ON ticket_claims
    REFERENCING NEW TABLE AS new_claims
    FOR EACH STATEMENT EXECUTE FUNCTION ticket_claims_check_invoices();
CREATE TRIGGER ticket_claims_invoices_exist_on_update AFTER UPDATE ON ticket_claims
    REFERENCING NEW TABLE AS new_claims
    FOR EACH STATEMENT EXECUTE FUNCTION ticket_claims_check_invoices();

-- An invoice that still claims time entries or tickets cannot be deleted.
CREATE OR REPLACE FUNCTION invoices_check_unclaimed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM old_invoices o WHERE EXISTS (SELECT 1 FROM time_entry_claims c WHERE c.invoice_id = o.id)
                                               OR EXISTS (SELECT 1 FROM ticket_claims c WHERE c.invoice_id = o.id)) THEN
        RAISE EXCEPTION 'an invoice that claims time entries or tickets cannot be deleted'
            USING ERRCODE = 'foreign_key_violation', TABLE = 'invoices';
    END IF;
    RETURN NULL;
END
$$;
