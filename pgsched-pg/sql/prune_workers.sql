-- Forget worker processes not seen for $1 ms (the seed's HEARTBEAT_THRESHOLD). Their jobs are
-- recovered through their expired leases, not here.
DELETE FROM __SCHEMA__.workers
 WHERE last_seen_at < now() - $1 * interval '1 millisecond'
RETURNING id
