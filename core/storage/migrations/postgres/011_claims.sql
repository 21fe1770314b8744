-- Twinome schema, version 11: claims (see the SQLite script of the same number).
ALTER TABLE outbox ADD COLUMN lane TEXT NOT NULL DEFAULT '';
CREATE INDEX outbox_by_lane ON outbox (platform, lane, id);
CREATE TABLE lane_leases (
    platform TEXT NOT NULL,
    lane TEXT NOT NULL,
    owner TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (platform, lane)
);
