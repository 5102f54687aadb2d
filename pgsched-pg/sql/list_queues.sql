-- Every queue that has settings or jobs waiting or running, with its settings and counts, by
-- name. The counts read the waiting and running jobs (an admin's view, not a hot path).
WITH counts AS (
    SELECT queue,
           count(*) FILTER (WHERE status IN ('scheduled', 'pending')) AS pending,
           count(*) FILTER (WHERE status = 'running') AS running
      FROM __SCHEMA__.jobs
     WHERE status IN ('scheduled', 'pending', 'running')
     GROUP BY queue
)
SELECT coalesce(q.name, c.queue) AS name,
       coalesce(q.paused, false) AS paused,
       q.concurrency_limit,
       q.rate_limit,
       q.rate_period_ms,
       q.key_rate_limit,
       q.key_rate_period_ms,
       coalesce(c.pending, 0) AS pending,
       coalesce(c.running, 0) AS running
  FROM __SCHEMA__.queues AS q
  FULL JOIN counts AS c ON c.queue = q.name
 ORDER BY 1
