-- Twinome schema, version 4: safety reports are kept until the moderators have them.

-- One row per report: who reported whom, where (the trio it was typed in, or the first
-- trio they share), the reason exactly as the reporter typed it (theirs to give: it goes
-- to the moderators and into the reporter's export), and when it reached the moderators'
-- room (NULL: not yet, e.g. no moderators' room is configured; `twinome reports` shows
-- them). It also rate-limits reports (per reporter and day).
CREATE TABLE safety_reports (
    id INTEGER PRIMARY KEY,
    reporter TEXT NOT NULL,
    reported TEXT NOT NULL,
    trio_id INTEGER,
    reason TEXT,
    platform TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    delivered_at INTEGER
);
CREATE INDEX safety_reports_by_reporter ON safety_reports (reporter, created_at);
CREATE INDEX safety_reports_by_delivery ON safety_reports (delivered_at, id);

-- The old table held only who reported and when, for the rate limit; the reports
-- themselves went to the moderators' room. Its rows cannot become reports.
DROP TABLE reports;
