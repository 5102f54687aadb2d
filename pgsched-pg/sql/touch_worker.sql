-- A worker's heartbeat: it is still alive.
UPDATE __SCHEMA__.workers SET last_seen_at = now() WHERE id = $1
