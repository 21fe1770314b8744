-- Twinome schema, version 3: safety rules that need a column or an index.

-- Whose words or doings a held notice relays: at release, a block made meanwhile stops it.
ALTER TABLE held_notices ADD COLUMN sent_by TEXT;

-- Personal invitations are limited per inviter and per day.
CREATE INDEX invites_by_creator ON invites (created_by, created_at);

-- Display names are cleaned on the way in from now on; a stored one that could not have
-- been (a line break, an escape, far too long) is dropped until the platform sends it again.
UPDATE members SET display_name = NULL
WHERE length(display_name) > 60 OR instr(display_name, char(10)) > 0
   OR instr(display_name, char(13)) > 0 OR instr(display_name, char(27)) > 0;
