-- Twinome schema: taking things back. A withdrawn proposal or session keeps its row (and so
-- its number, which old notices and buttons still name) with the time it was withdrawn.
ALTER TABLE proposals ADD COLUMN withdrawn_at INTEGER;
ALTER TABLE sessions ADD COLUMN withdrawn_at INTEGER;
