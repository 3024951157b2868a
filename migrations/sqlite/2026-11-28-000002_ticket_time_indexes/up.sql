-- The usage summary counts the tickets opened or escalated in its range; without these it
-- read every ticket for every summary (a one-day summary of 125,000 tickets, BENCHMARKS.md).
CREATE INDEX tickets_opened ON tickets (opened_at);
CREATE INDEX tickets_escalated ON tickets (escalated_at) WHERE escalated_at IS NOT NULL;
