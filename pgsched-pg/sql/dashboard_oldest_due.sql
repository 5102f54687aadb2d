-- dashboard overview: how long the longest-waiting job without a concurrency key has been
-- due, in milliseconds by the database clock (NULL: nothing is waiting). Keyed jobs are left
-- out: they wait for their key's slots by design. Walks the queues with such jobs in
-- jobs_claim_order (queue, priority, run_at, ...) one seek each (a skip scan), then reads the
-- front of each queue's priority levels: (queues + 1) + 4 x queues index entries however many
-- jobs wait. Takes no row lock.
WITH RECURSIVE waiting_queues AS (
    (SELECT queue
       FROM __SCHEMA__.jobs
      WHERE status = 'pending' AND concurrency_key IS NULL
      ORDER BY queue
      LIMIT 1)
    UNION ALL
    SELECT next.queue
      FROM waiting_queues
     CROSS JOIN LATERAL (
           SELECT queue
             FROM __SCHEMA__.jobs
            WHERE status = 'pending' AND concurrency_key IS NULL
              AND queue > waiting_queues.queue
            ORDER BY queue
            LIMIT 1) AS next
)
SELECT (extract(epoch FROM now() - min(front.oldest)) * 1000)::float8 AS lag_ms
  FROM waiting_queues,
       unnest(ARRAY[1, 3, 5, 8]::smallint[]) AS level(priority),
       LATERAL (SELECT run_at AS oldest
                  FROM __SCHEMA__.jobs
                 WHERE status = 'pending' AND concurrency_key IS NULL
                   AND queue = waiting_queues.queue AND priority = level.priority
                 ORDER BY run_at
                 LIMIT 1) AS front
