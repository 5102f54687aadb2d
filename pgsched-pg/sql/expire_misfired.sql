-- expire: pending jobs not started within their misfire grace, by the database clock,
-- at most $1 rows, from the partial index jobs_misfire.
WITH late AS (
    SELECT id
      FROM __SCHEMA__.jobs
     WHERE status = 'pending'
       AND expires_at < now()
     ORDER BY expires_at
     LIMIT $1
       FOR UPDATE SKIP LOCKED
)
UPDATE __SCHEMA__.jobs AS j
   SET status = 'expired',
       finished_at = now(),
       last_error = 'misfire: not started within ' || j.misfire_grace_ms || ' ms of its due time'
  FROM late
 WHERE j.id = late.id
RETURNING j.id, j.priority
