-- A worker process announces itself.
INSERT INTO __SCHEMA__.workers (id, host, pid) VALUES ($1, $2, $3)
    ON CONFLICT (id) DO UPDATE SET last_seen_at = now()
