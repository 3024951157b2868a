-- SPEC 7.3: holiday calendars. A plan version may name one; a local date that is one of its
-- days counts as a day outside the plan's hours of service. One row per (calendar, date): the
-- primary key is the uniqueness of a date in a calendar, and deleting a calendar deletes its days.
CREATE TABLE holiday_calendars (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE TABLE holiday_days (
    calendar_id BIGINT NOT NULL REFERENCES holiday_calendars (id) ON DELETE CASCADE,
    date DATE NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (calendar_id, date)
);
