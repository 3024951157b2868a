DROP INDEX tickets_escalated;
DROP INDEX tickets_opened;
