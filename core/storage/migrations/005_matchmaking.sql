-- Twinome schema, version 5: matchmaking (seek, unseek, match accept|decline).

-- Languages a member speaks (space-separated codes such as "fr en"); NULL: not said yet.
ALTER TABLE members ADD COLUMN languages TEXT;

-- Who is looking for companions, on which platform and since when.
CREATE TABLE lobby (
    member_id TEXT PRIMARY KEY REFERENCES members(id) ON DELETE CASCADE,
    platform TEXT NOT NULL,
    community TEXT,                 -- Matrix homeserver, Discord server role… where known
    since INTEGER NOT NULL
);
CREATE INDEX lobby_by_platform ON lobby (platform, since);

-- A proposed trio of three seekers, waiting for the three answers.
CREATE TABLE match_proposals (
    id INTEGER PRIMARY KEY,
    platform TEXT NOT NULL,
    explanation TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'formed', 'declined', 'expired'))
);
CREATE TABLE match_seats (
    proposal_id INTEGER NOT NULL REFERENCES match_proposals(id) ON DELETE CASCADE,
    member_id TEXT NOT NULL,
    accepted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (proposal_id, member_id)
);
CREATE INDEX match_seats_by_member ON match_seats (member_id);
