-- Twinome schema, version 12: each outbox effect's realm (see the SQLite migration).
ALTER TABLE outbox ADD COLUMN realm TEXT;
