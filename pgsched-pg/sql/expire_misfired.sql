-- expire: jobs not started within their misfire grace, by the database clock, at most $1
-- rows from each of two probes: pending jobs that waited too long (jobs_misfire), and
-- scheduled jobs that came due while no worker promoted them, or were written already past
-- their grace (jobs_scheduled_expiring). Both read only expired entries (before now()).
WITH waited AS (
    SELECT id
      FROM __SCHEMA__.jobs
     WHERE status = 'pending'
       AND expires_at < now()
     ORDER BY expires_at
     LIMIT $1
       FOR UPDATE SKIP LOCKED
), unpromoted AS (
    SELECT id
      FROM __SCHEMA__.jobs
     WHERE status = 'scheduled'
       AND expires_at IS NOT NULL
       AND expires_at < now()
     ORDER BY expires_at
     LIMIT $1
       FOR UPDATE SKIP LOCKED
), late AS (
    SELECT id FROM waited UNION ALL SELECT id FROM unpromoted
)
UPDATE __SCHEMA__.jobs AS j
   SET status = 'expired',
       finished_at = now(),
       last_error = 'misfire: not started within ' || j.misfire_grace_ms || ' ms of its due time'
  FROM late
 WHERE j.id = late.id
RETURNING j.id, j.priority
