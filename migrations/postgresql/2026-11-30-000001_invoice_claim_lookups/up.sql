-- Deleting a draft or voiding an invoice frees the tickets and charges it claimed
-- (`UPDATE ... WHERE invoice_id = $1`), and deleting the invoice row makes the foreign keys of
-- tickets and charges look for rows still naming it. Without an index on those columns each
-- of these read the whole table. Partial: only claimed rows are indexed, and
-- `invoice_id = $1` implies `invoice_id IS NOT NULL`.
CREATE INDEX tickets_invoice ON tickets (invoice_id) WHERE invoice_id IS NOT NULL;
CREATE INDEX charges_invoice ON charges (invoice_id) WHERE invoice_id IS NOT NULL;

-- The per-statement checks of 2026-11-29-000001 and -000002 joined the deleted rows to the
-- children (`FROM children JOIN old_rows`), which the planner ran as a hash join over every
-- child row: 62-94 ms for one draft's `DELETE` against the 1M benchmark's 414,300 claims.
-- Asked row by row (`EXISTS` per deleted row), each is an index probe. With the indexes above,
-- deleting one draft went from 170 ms to about 4 ms (BENCHMARKS.md, finding 23). The rules
-- are unchanged.
CREATE OR REPLACE FUNCTION invoices_check_unclaimed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM old_invoices o WHERE EXISTS (SELECT 1 FROM time_entry_claims c WHERE c.invoice_id = o.id)) THEN
        RAISE EXCEPTION 'an invoice that claims time entries cannot be deleted'
            USING ERRCODE = 'foreign_key_violation', TABLE = 'invoices';
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION subscriptions_check_no_time_entries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM old_subscriptions o WHERE EXISTS (SELECT 1 FROM time_entries e WHERE e.subscription_id = o.id)) THEN
        RAISE EXCEPTION 'a subscription with time entries cannot be deleted'
            USING ERRCODE = 'foreign_key_violation', TABLE = 'subscriptions';
    END IF;
    RETURN NULL;
END
$$;
