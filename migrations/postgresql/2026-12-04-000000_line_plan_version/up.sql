-- The plan version (its effective_from) whose terms priced the line (SPEC 7.2).
ALTER TABLE invoice_lines ADD COLUMN plan_version DATE;
