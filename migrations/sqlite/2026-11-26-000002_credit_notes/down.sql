DELETE FROM counters WHERE name = 'credit_note';
DROP TABLE credit_notes;
