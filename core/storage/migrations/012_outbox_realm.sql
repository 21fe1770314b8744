-- Twinome schema, version 12: each outbox effect's realm. An effect about a trio's room
-- carries the trio's realm (on Discord: its server), a reply the realm its command was
-- given from; the others (direct messages, reports) none. A process running some of
-- Discord's shards carries out only the effects of the servers its shards hold.
ALTER TABLE outbox ADD COLUMN realm TEXT;
