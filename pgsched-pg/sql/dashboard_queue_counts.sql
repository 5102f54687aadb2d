-- dashboard overview and queues page: every queue with due or running jobs, or with
-- settings, by name: its settings, its due jobs (pending, with or without a concurrency key, the count capped at
-- $1) and its running jobs. The queues with due jobs are found by walking the queue column
-- that leads jobs_claim_order and jobs_claim_keyed, one index seek per queue (a skip scan);
-- each due count reads at most $1 entries of those indexes; running jobs are few (at most the
-- workers' slots) and read from jobs_running. Reads only: takes no row lock.
WITH RECURSIVE unkeyed_queues AS (
    (SELECT queue FROM __SCHEMA__.jobs
      WHERE status = 'pending' AND concurrency_key IS NULL
      ORDER BY queue LIMIT 1)
    UNION ALL
    SELECT next.queue
      FROM unkeyed_queues
     CROSS JOIN LATERAL (
           SELECT queue FROM __SCHEMA__.jobs
            WHERE status = 'pending' AND concurrency_key IS NULL
              AND queue > unkeyed_queues.queue
            ORDER BY queue LIMIT 1) AS next
), keyed_queues AS (
    (SELECT queue FROM __SCHEMA__.jobs
      WHERE status = 'pending' AND concurrency_key IS NOT NULL
      ORDER BY queue LIMIT 1)
    UNION ALL
    SELECT next.queue
      FROM keyed_queues
     CROSS JOIN LATERAL (
           SELECT queue FROM __SCHEMA__.jobs
            WHERE status = 'pending' AND concurrency_key IS NOT NULL
              AND queue > keyed_queues.queue
            ORDER BY queue LIMIT 1) AS next
), running AS (
    SELECT queue, count(*) AS running
      FROM __SCHEMA__.jobs
     WHERE status = 'running'
     GROUP BY queue
), names AS (
    SELECT queue FROM unkeyed_queues
    UNION
    SELECT queue FROM keyed_queues
    UNION
    SELECT queue FROM running
    UNION
    SELECT name FROM __SCHEMA__.queues
)
SELECT names.queue AS name,
       coalesce(q.paused, false) AS paused,
       q.concurrency_limit,
       q.rate_limit,
       q.rate_period_ms,
       q.key_rate_limit,
       q.key_rate_period_ms,
       (SELECT count(*) FROM (SELECT 1 FROM __SCHEMA__.jobs
                               WHERE status = 'pending' AND concurrency_key IS NULL
                                 AND queue = names.queue
                               LIMIT $1) AS unkeyed)
       + (SELECT count(*) FROM (SELECT 1 FROM __SCHEMA__.jobs
                                 WHERE status = 'pending' AND concurrency_key IS NOT NULL
                                   AND queue = names.queue
                                 LIMIT $1) AS keyed) AS due,
       coalesce(running.running, 0) AS running
  FROM names
  LEFT JOIN __SCHEMA__.queues AS q ON q.name = names.queue
  LEFT JOIN running ON running.queue = names.queue
 ORDER BY names.queue
