-- recover: jobs whose lease expired by the database clock (their worker died or lost
-- contact). The lost attempt counts: the job is pending again while attempts stay within
-- greatest(max_retries, $2), and fails after that, so a job that kills its worker every time
-- cannot loop forever. Bounded by $1 rows; SKIP LOCKED lets every replica run it at once.
-- Reads the running rows through jobs_running (there is no index on lease_expires_at, so
-- that renewals stay HOT updates; see migration 0006).
-- expires_at stays NULL (cleared at claim): a recovered job still runs.
-- The lost attempt's error (read from the row locked above: a running job's attempts and
-- worker do not change) is its last_error, and is appended to attempt_errors, keeping the
-- last $3 (migration 0016).
WITH orphans AS (
    SELECT id,
           'lease_expired: worker ' || coalesce(worker_id, '?')
           || ' stopped renewing its lease during attempt ' || attempts AS error
      FROM __SCHEMA__.jobs
     WHERE status = 'running'
       AND lease_expires_at < now()
     ORDER BY lease_expires_at
     LIMIT $1
       FOR UPDATE SKIP LOCKED
)
UPDATE __SCHEMA__.jobs AS j
   SET status = CASE WHEN j.attempts > greatest(j.max_retries, $2) THEN 'failed' ELSE 'pending' END,
       finished_at = CASE WHEN j.attempts > greatest(j.max_retries, $2) THEN now() END,
       last_error = o.error,
       attempt_errors = __SCHEMA__.attempt_errors_append(j.attempt_errors, j.attempts, o.error, $3),
       lease_token = NULL,
       lease_expires_at = NULL
  FROM orphans o
 WHERE j.id = o.id
RETURNING j.id, j.status
