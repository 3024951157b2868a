ALTER TABLE invoice_lines DROP COLUMN plan_version;
