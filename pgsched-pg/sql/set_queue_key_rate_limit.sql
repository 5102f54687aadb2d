-- Sets queue $1's per-key rate limit to $2 starts per $3 ms for each of its concurrency keys
-- (NULL, NULL lifts it). The keys' rate slots keep their free times, so starts made under the
-- old limit still count against the new one; slots at or beyond a lowered count are no longer
-- read, and the sweep removes them once free (see migration 0020).
INSERT INTO __SCHEMA__.queues AS q (name, key_rate_limit, key_rate_period_ms)
VALUES ($1, $2, $3)
ON CONFLICT (name) DO UPDATE
   SET key_rate_limit = excluded.key_rate_limit,
       key_rate_period_ms = excluded.key_rate_period_ms,
       updated_at = now()
