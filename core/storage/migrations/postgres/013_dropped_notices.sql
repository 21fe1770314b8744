-- Twinome schema, version 13: notices dropped undelivered (see the SQLite migration).
ALTER TABLE members ADD COLUMN notices_dropped INTEGER NOT NULL DEFAULT 0;
