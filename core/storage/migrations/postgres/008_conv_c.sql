-- Twinome schema, version 8: fairer rules of conversation (see the SQLite script).
UPDATE line_state SET owes_since = NULL, accrued_s = 0, accrual_from = NULL, reminded = 0
WHERE room_id IN (SELECT id FROM rooms WHERE purpose = 'trio');
DELETE FROM jobs WHERE kind = 'remind' AND key IN (
    SELECT 'remind:' || ls.room_id || ':' || ls.member_id FROM line_state ls
    JOIN rooms r ON r.id = ls.room_id WHERE r.purpose = 'trio');

ALTER TABLE sos ADD COLUMN first_ready TEXT;
ALTER TABLE mentorships ADD COLUMN waits_for TEXT CHECK (waits_for IN ('mentee', 'mentor'));

ALTER TABLE proposals ADD COLUMN number BIGINT;
UPDATE proposals SET number = (SELECT count(*) FROM proposals p
    WHERE p.trio_id = proposals.trio_id AND p.id <= proposals.id);
CREATE UNIQUE INDEX proposals_by_number ON proposals (trio_id, number);
ALTER TABLE mentorships ADD COLUMN number BIGINT;
UPDATE mentorships SET number = (SELECT count(*) FROM mentorships m
    WHERE m.trio_id = mentorships.trio_id AND m.id <= mentorships.id);
CREATE UNIQUE INDEX mentorships_by_number ON mentorships (trio_id, number);
ALTER TABLE sessions ADD COLUMN number BIGINT;
UPDATE sessions SET number = (SELECT count(*) FROM sessions s
    JOIN mentorships m ON m.id = s.mentorship_id
    WHERE m.trio_id = (SELECT trio_id FROM mentorships WHERE id = sessions.mentorship_id)
      AND s.id <= sessions.id);
