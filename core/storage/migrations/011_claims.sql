-- Twinome schema, version 11: claims. Several processes may share one database
-- (PostgreSQL). Each outbox effect travels in a lane (a room, a member's direct chat:
-- core.effects.lane_of), and a process carries out only the lanes it holds a lease on,
-- so no effect goes out twice at once and each lane keeps its order. A lease ends when
-- its holder is done with the lane, or at expires_at (Unix ms) if the holder died.
-- Effects stored before this version share the lane '': one process at a time, in order.
ALTER TABLE outbox ADD COLUMN lane TEXT NOT NULL DEFAULT '';
CREATE INDEX outbox_by_lane ON outbox (platform, lane, id);
CREATE TABLE lane_leases (
    platform TEXT NOT NULL,
    lane TEXT NOT NULL,
    owner TEXT NOT NULL,          -- the process holding it (random at each start)
    expires_at INTEGER NOT NULL,  -- Unix ms; the holder renews it while it works
    PRIMARY KEY (platform, lane)
);
