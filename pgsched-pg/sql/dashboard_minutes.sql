-- dashboard overview: the last $1 minutes by the database clock, one row per minute (oldest
-- first, minutes without jobs included): jobs completed and failed in that minute, and the
-- queue lag of those jobs (start minus due time: how long a due job waited for a worker),
-- average and worst, in milliseconds (NULL: none finished).
-- Reads the finished jobs of the window from jobs_finished (status, finished_at), a range per
-- status; takes no row lock. A job retried after an operator's retry counts once, in the
-- minute of its last finish.
WITH window_start AS (
    SELECT date_trunc('minute', now()) - ($1::int - 1) * interval '1 minute' AS at
), finished AS (
    SELECT date_trunc('minute', finished_at) AS minute,
           status,
           greatest(extract(epoch FROM started_at - run_at) * 1000, 0) AS lag_ms
      FROM __SCHEMA__.jobs, window_start
     WHERE status IN ('completed', 'failed')
       AND finished_at >= window_start.at
)
SELECT minutes.minute,
       count(*) FILTER (WHERE finished.status = 'completed') AS completed,
       count(*) FILTER (WHERE finished.status = 'failed') AS failed,
       avg(finished.lag_ms)::float8 AS lag_avg_ms,
       max(finished.lag_ms)::float8 AS lag_max_ms
  FROM window_start,
       generate_series(window_start.at, date_trunc('minute', now()), interval '1 minute') AS minutes(minute)
  LEFT JOIN finished ON finished.minute = minutes.minute
 GROUP BY minutes.minute
 ORDER BY minutes.minute
