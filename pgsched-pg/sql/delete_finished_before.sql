-- retention: delete up to $3 jobs of terminal status $1 that finished at least $2 ms ago, by
-- the database clock, oldest first, from the partial index jobs_finished. SKIP LOCKED: two
-- passes at once delete each row once.
WITH doomed AS (
    SELECT id
      FROM __SCHEMA__.jobs
     WHERE status = $1
       AND finished_at <= now() - $2 * interval '1 millisecond'
     ORDER BY finished_at
     LIMIT $3
       FOR UPDATE SKIP LOCKED
)
DELETE FROM __SCHEMA__.jobs AS j
 USING doomed
 WHERE j.id = doomed.id
   AND j.status = $1
