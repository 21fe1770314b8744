-- Twinome schema, version 1. Times are integer Unix seconds (UTC).
-- No message body is ever stored: lines keep only who wrote where and when.

CREATE TABLE members (
    id TEXT PRIMARY KEY,
    display_name TEXT,
    tz TEXT NOT NULL DEFAULT 'UTC',
    quiet_start INTEGER,            -- minutes after local midnight, NULL = no quiet hours
    quiet_end INTEGER,
    away_since INTEGER,
    away_until INTEGER,             -- NULL with away_since set = away until `back`
    away_note TEXT,
    created_at INTEGER NOT NULL
);

CREATE TABLE skills (
    member_id TEXT NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('offer', 'want')),
    skill TEXT NOT NULL,
    PRIMARY KEY (member_id, kind, skill)
);

CREATE TABLE blocks (
    blocker TEXT NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    blocked TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (blocker, blocked)
);

CREATE TABLE trios (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('forming', 'active', 'dissolved')),
    created_at INTEGER NOT NULL,
    patience_s INTEGER NOT NULL,
    relance TEXT NOT NULL CHECK (relance IN ('gentle', 'off')),
    proposal_ttl_s INTEGER NOT NULL
);

CREATE TABLE trio_members (
    trio_id INTEGER NOT NULL REFERENCES trios(id) ON DELETE CASCADE,
    member_id TEXT NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    joined_at INTEGER NOT NULL,
    PRIMARY KEY (trio_id, member_id)
);
CREATE INDEX trio_members_by_member ON trio_members (member_id);

-- A pending change of a trio setting, waiting for the two others to ask the same.
CREATE TABLE setting_requests (
    trio_id INTEGER NOT NULL REFERENCES trios(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    member_id TEXT NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    PRIMARY KEY (trio_id, key, member_id)
);

CREATE TABLE invites (
    code TEXT PRIMARY KEY,
    trio_id INTEGER NOT NULL REFERENCES trios(id) ON DELETE CASCADE,
    created_by TEXT REFERENCES members(id) ON DELETE SET NULL,
    invitee TEXT,                   -- NULL: anyone holding the code may redeem it
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'used', 'revoked', 'declined', 'expired')),
    used_by TEXT
);
CREATE INDEX invites_by_trio ON invites (trio_id, state);
CREATE INDEX invites_by_invitee ON invites (invitee, state);

CREATE TABLE redeem_failures (
    member_id TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX redeem_failures_by_member ON redeem_failures (member_id, at);

-- A trio room (member_a, member_b NULL) or a pair line (member_a < member_b).
CREATE TABLE rooms (
    id INTEGER PRIMARY KEY,
    trio_id INTEGER NOT NULL REFERENCES trios(id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('trio', 'pair')),
    member_a TEXT,
    member_b TEXT,
    state TEXT NOT NULL CHECK (state IN ('open', 'closed')),
    created_at INTEGER NOT NULL
);
CREATE INDEX rooms_by_trio ON rooms (trio_id, state);

-- Adapter bindings: a core key (room:12, dm:@alice:x) to a platform reference.
CREATE TABLE platform_refs (
    platform TEXT NOT NULL,
    key TEXT NOT NULL,
    ref TEXT NOT NULL,
    PRIMARY KEY (platform, key)
);
CREATE UNIQUE INDEX platform_refs_by_ref ON platform_refs (platform, ref);

-- Turn state of one member in one line.
CREATE TABLE line_state (
    room_id INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    member_id TEXT NOT NULL,
    last_spoke_at INTEGER,
    spoke_seq INTEGER NOT NULL DEFAULT 0,   -- order of the last message in the line (ties within a second)
    owes_since INTEGER,             -- first message from another still unanswered by this member
    accrued_s INTEGER NOT NULL DEFAULT 0,   -- waiting time counted before the last pause
    accrual_from INTEGER,           -- NULL while paused (away)
    reminded INTEGER NOT NULL DEFAULT 0,
    relanced INTEGER NOT NULL DEFAULT 0,
    messages INTEGER NOT NULL DEFAULT 0,
    initiations INTEGER NOT NULL DEFAULT 0,
    replies INTEGER NOT NULL DEFAULT 0,
    reply_total_s INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (room_id, member_id)
);
CREATE INDEX line_state_by_member ON line_state (member_id);

CREATE TABLE mentorships (
    id INTEGER PRIMARY KEY,
    trio_id INTEGER NOT NULL REFERENCES trios(id) ON DELETE CASCADE,
    mentor TEXT NOT NULL,
    mentee TEXT NOT NULL,
    skill TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('offered', 'recognised', 'ended')),
    created_at INTEGER NOT NULL
);
CREATE INDEX mentorships_by_trio ON mentorships (trio_id, state);

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    mentorship_id INTEGER NOT NULL REFERENCES mentorships(id) ON DELETE CASCADE,
    minutes INTEGER NOT NULL,
    note TEXT,
    logged_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    confirmed_at INTEGER
);
CREATE INDEX sessions_by_mentorship ON sessions (mentorship_id);

CREATE TABLE sos (
    id INTEGER PRIMARY KEY,
    trio_id INTEGER NOT NULL REFERENCES trios(id) ON DELETE CASCADE,
    member_id TEXT NOT NULL,
    note TEXT,
    created_at INTEGER NOT NULL,
    ready_at INTEGER
);
CREATE INDEX sos_by_trio ON sos (trio_id, ready_at);

CREATE TABLE plan_steps (
    id INTEGER PRIMARY KEY,
    sos_id INTEGER NOT NULL REFERENCES sos(id) ON DELETE CASCADE,
    author TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE proposals (
    id INTEGER PRIMARY KEY,
    trio_id INTEGER NOT NULL REFERENCES trios(id) ON DELETE CASCADE,
    author TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'validated', 'declined', 'expired'))
);
CREATE INDEX proposals_by_trio ON proposals (trio_id, state);

CREATE TABLE votes (
    proposal_id INTEGER NOT NULL REFERENCES proposals(id) ON DELETE CASCADE,
    voter TEXT NOT NULL,
    approve INTEGER NOT NULL,
    PRIMARY KEY (proposal_id, voter)
);

-- A destructive command waiting for `confirm` (trio leave, privacy forget).
CREATE TABLE confirmations (
    member_id TEXT NOT NULL,
    action TEXT NOT NULL,
    trio_id INTEGER,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (member_id, action)
);

-- Notifications held through a member's quiet hours (bot-written text only).
CREATE TABLE held_notices (
    id INTEGER PRIMARY KEY,
    member_id TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX held_notices_by_member ON held_notices (member_id);

-- Durable scheduled work; `key` makes a job replaceable and cancellable.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    due_at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL UNIQUE,
    payload TEXT NOT NULL
);
CREATE INDEX jobs_by_due ON jobs (due_at);

-- Platform events already applied (exactly-once).
CREATE TABLE processed_events (
    event_id TEXT PRIMARY KEY,
    at INTEGER NOT NULL
);

-- Effects committed with their state change, waiting for an adapter to carry them out.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    effect TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- Safety reports sent, kept only to rate-limit them: who reported and when, nothing else
-- (the report itself goes to the moderators). Rows older than a day are dropped.
CREATE TABLE reports (
    reporter TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX reports_by_reporter ON reports (reporter, at);
