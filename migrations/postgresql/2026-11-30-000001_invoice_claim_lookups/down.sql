CREATE OR REPLACE FUNCTION subscriptions_check_no_time_entries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM time_entries e JOIN old_subscriptions o ON e.subscription_id = o.id) THEN
        RAISE EXCEPTION 'a subscription with time entries cannot be deleted'
            USING ERRCODE = 'foreign_key_violation', TABLE = 'subscriptions';
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION invoices_check_unclaimed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM time_entry_claims c JOIN old_invoices o ON c.invoice_id = o.id) THEN
        RAISE EXCEPTION 'an invoice that claims time entries cannot be deleted'
            USING ERRCODE = 'foreign_key_violation', TABLE = 'invoices';
    END IF;
    RETURN NULL;
END
$$;

DROP INDEX charges_invoice;
DROP INDEX tickets_invoice;
