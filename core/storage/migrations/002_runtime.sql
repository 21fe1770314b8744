-- Twinome schema, version 2: the shared adapter runtime.
-- Every trio, job and outbox effect belongs to one platform, so that several adapters on
-- one database each deliver only their own effects. Outbox ids never repeat (AUTOINCREMENT):
-- with the database's instance id they make the idempotency keys of deliveries.

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO meta (key, value) VALUES ('instance', lower(hex(randomblob(8))));

ALTER TABLE trios ADD COLUMN platform TEXT NOT NULL DEFAULT 'console';
ALTER TABLE jobs ADD COLUMN platform TEXT NOT NULL DEFAULT 'console';

CREATE TABLE outbox_v2 (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    platform TEXT NOT NULL,
    effect TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,    -- failed tries so far (a restart keeps counting)
    retry_at INTEGER,                       -- not before this time (Unix ms), after a failure
    waiting_since INTEGER                   -- first time a condition held it back (Unix ms)
);
INSERT INTO outbox_v2 (id, platform, effect, created_at)
    SELECT id, 'console', effect, created_at FROM outbox ORDER BY id;
DROP TABLE outbox;
ALTER TABLE outbox_v2 RENAME TO outbox;
CREATE INDEX outbox_by_platform ON outbox (platform, id);
-- Before this version a database served one adapter: the Matrix bot's (its member ids
-- look like @name:server) or the console's. What it holds belongs to that platform.
UPDATE trios SET platform = 'matrix' WHERE EXISTS (SELECT 1 FROM members WHERE id LIKE '@%:%');
UPDATE jobs SET platform = 'matrix' WHERE EXISTS (SELECT 1 FROM members WHERE id LIKE '@%:%');
UPDATE outbox SET platform = 'matrix' WHERE EXISTS (SELECT 1 FROM members WHERE id LIKE '@%:%');

-- A held notice keeps the choices it offers (accept/decline, vote…) until it is released.
ALTER TABLE held_notices ADD COLUMN choices TEXT;
