DROP INDEX charges_invoice;
DROP INDEX tickets_invoice;
