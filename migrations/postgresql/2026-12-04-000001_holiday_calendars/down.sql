DROP TABLE holiday_days;
DROP TABLE holiday_calendars;
