CREATE OR REPLACE FUNCTION invoices_check_unclaimed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM old_invoices o WHERE EXISTS (SELECT 1 FROM time_entry_claims c WHERE c.invoice_id = o.id)) THEN
        RAISE EXCEPTION 'an invoice that claims time entries cannot be deleted'
            USING ERRCODE = 'foreign_key_violation', TABLE = 'invoices';
    END IF;
    RETURN NULL;
END
$$;

ALTER TABLE tickets ADD COLUMN invoice_id BIGINT REFERENCES invoices (id);
UPDATE tickets AS t SET invoice_id = c.invoice_id FROM ticket_claims c WHERE c.ticket_id = t.id;
CREATE INDEX tickets_invoice ON tickets (invoice_id) WHERE invoice_id IS NOT NULL;
DROP TABLE ticket_claims;
DROP FUNCTION ticket_claims_check_invoices();
