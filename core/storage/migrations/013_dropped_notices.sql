-- Twinome schema, version 13: notices dropped undelivered. A private notice that could
-- not reach a member for too long (on Discord: their direct messages stayed closed a
-- week) is dropped; how many were dropped is counted here, so the member is told on
-- their next interaction even after a restart, and set back to 0 once they are told.
ALTER TABLE members ADD COLUMN notices_dropped INTEGER NOT NULL DEFAULT 0;
