-- Twinome schema, version 3: safety rules that need a column or an index.
ALTER TABLE held_notices ADD COLUMN sent_by TEXT;
CREATE INDEX invites_by_creator ON invites (created_by, created_at);
UPDATE members SET display_name = NULL
WHERE length(display_name) > 60 OR strpos(display_name, chr(10)) > 0
   OR strpos(display_name, chr(13)) > 0 OR strpos(display_name, chr(27)) > 0;
