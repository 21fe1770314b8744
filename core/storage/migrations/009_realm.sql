-- Twinome schema, version 9: realms. A trio lives in one realm of its platform (on
-- Discord: one server); NULL where the platform has none. Seekers are matched only
-- with seekers of their own realm.
ALTER TABLE lobby ADD COLUMN realm TEXT;
ALTER TABLE trios ADD COLUMN realm TEXT;
-- A proposal's realm: the trio it forms lives there.
ALTER TABLE match_proposals ADD COLUMN realm TEXT;
