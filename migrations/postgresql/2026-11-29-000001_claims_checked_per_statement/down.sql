DROP TRIGGER invoices_id_is_fixed ON invoices;
DROP FUNCTION invoices_refuse_new_id();
DROP TRIGGER invoices_keep_claimed ON invoices;
DROP FUNCTION invoices_check_unclaimed();
DROP TRIGGER time_entry_claims_invoices_exist_on_update ON time_entry_claims;
DROP TRIGGER time_entry_claims_invoices_exist_on_insert ON time_entry_claims;
DROP FUNCTION time_entry_claims_check_invoices();
ALTER TABLE time_entry_claims ADD CONSTRAINT time_entry_claims_invoice_id_fkey
    FOREIGN KEY (invoice_id) REFERENCES invoices (id);
