-- A worker process announces itself (at start), and says it is still alive (every heartbeat).
-- An upsert, so a live worker whose registration was pruned as dead (after a pause longer than
-- the dead-worker threshold) registers again on its next heartbeat. $1 id, $2 host, $3 pid.
INSERT INTO __SCHEMA__.workers (id, host, pid) VALUES ($1, $2, $3)
    ON CONFLICT (id) DO UPDATE SET last_seen_at = now()
