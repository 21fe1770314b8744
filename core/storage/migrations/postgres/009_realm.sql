-- Twinome schema, version 9: realms (on Discord: one server per trio).
ALTER TABLE lobby ADD COLUMN realm TEXT;
ALTER TABLE trios ADD COLUMN realm TEXT;
ALTER TABLE match_proposals ADD COLUMN realm TEXT;
