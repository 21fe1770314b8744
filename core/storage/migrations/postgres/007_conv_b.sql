-- Twinome schema: taking things back (the time a proposal or session was withdrawn).
ALTER TABLE proposals ADD COLUMN withdrawn_at BIGINT;
ALTER TABLE sessions ADD COLUMN withdrawn_at BIGINT;
