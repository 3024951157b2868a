ALTER TABLE customers DROP COLUMN exemption_reason;
ALTER TABLE customers DROP COLUMN tax_treatment;
