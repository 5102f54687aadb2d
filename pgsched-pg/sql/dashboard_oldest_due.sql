-- dashboard overview: how long the longest-waiting claimable job has been due, in
-- milliseconds by the database clock (NULL: nothing is waiting). One probe per priority level
-- at the front of jobs_claim_order (priority, run_at, ...), so it reads four index entries
-- however many jobs wait. Takes no row lock.
SELECT (extract(epoch FROM now() - min(oldest)) * 1000)::float8 AS lag_ms
  FROM unnest(ARRAY[1, 3, 5, 8]::smallint[]) AS level(priority),
       LATERAL (SELECT run_at AS oldest
                  FROM __SCHEMA__.jobs
                 WHERE status = 'pending' AND priority = level.priority
                 ORDER BY run_at
                 LIMIT 1) AS front
