-- Twinome schema, version 8: fairer rules of conversation.

-- The trio room is the open 20%: nobody owes a reply there and no reminder is sent for it.
UPDATE line_state SET owes_since = NULL, accrued_s = 0, accrual_from = NULL, reminded = 0
WHERE room_id IN (SELECT id FROM rooms WHERE purpose = 'trio');
DELETE FROM jobs WHERE kind = 'remind' AND key IN (
    SELECT 'remind:' || ls.room_id || ':' || ls.member_id FROM line_state ls
    JOIN rooms r ON r.id = ls.room_id WHERE r.purpose = 'trio');

-- A support plan is ready when both allies said so: the first one who did, meanwhile.
ALTER TABLE sos ADD COLUMN first_ready TEXT;

-- Who must still accept an 'offered' mentorship: the mentee (the mentor offered; NULL
-- too, as before) or the mentor (the mentee asked: their recognition stands, the mentor
-- agrees before it counts).
ALTER TABLE mentorships ADD COLUMN waits_for TEXT CHECK (waits_for IN ('mentee', 'mentor'));
