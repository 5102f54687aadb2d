-- Sets queue $1's rate limit to $2 starts per $3 ms (NULL, NULL lifts it), and makes its
-- rate slots 0 .. $2-1 (see migration 0010). Slots that remain keep their free_at, so
-- starts made under the old limit still count against the new one; slots beyond the new
-- count are removed. All in one statement: a claim sees the old slots or the new ones.
WITH settings AS (
    INSERT INTO __SCHEMA__.queues AS q (name, rate_limit, rate_period_ms)
    VALUES ($1, $2, $3)
    ON CONFLICT (name) DO UPDATE
       SET rate_limit = excluded.rate_limit,
           rate_period_ms = excluded.rate_period_ms,
           updated_at = now()
), removed AS (
    DELETE FROM __SCHEMA__.rate_slots
     WHERE queue = $1 AND slot >= coalesce($2, 0)
)
INSERT INTO __SCHEMA__.rate_slots (queue, slot)
SELECT $1, s FROM generate_series(0, coalesce($2, 0) - 1) AS s
ON CONFLICT (queue, slot) DO NOTHING
