-- retention: delete up to $3 jobs of terminal status $1 beyond the newest $2 per job name.
WITH ranked AS (
    SELECT id,
           row_number() OVER (PARTITION BY name ORDER BY finished_at DESC, id DESC) AS newest
      FROM __SCHEMA__.jobs
     WHERE status = $1
), doomed AS (
    SELECT j.id
      FROM __SCHEMA__.jobs AS j
      JOIN ranked USING (id)
     WHERE ranked.newest > $2
     LIMIT $3
       FOR UPDATE OF j SKIP LOCKED
)
DELETE FROM __SCHEMA__.jobs AS j
 USING doomed
 WHERE j.id = doomed.id
   AND j.status = $1
