-- SPEC 6: a customer's tax treatment (standard, reverse_charge, exempt, outside_scope) and the
-- reason printed on exempt invoices. Existing customers are standard.
ALTER TABLE customers ADD COLUMN tax_treatment TEXT NOT NULL DEFAULT 'standard';
ALTER TABLE customers ADD COLUMN exemption_reason TEXT NOT NULL DEFAULT '';
