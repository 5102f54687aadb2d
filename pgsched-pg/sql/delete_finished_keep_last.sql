-- retention: delete up to $3 jobs of terminal status $1 beyond the newest $2 per job name,
-- visiting names in order from $4 (NULL: the first name); returns how many rows it deleted
-- and the last name it deleted from, where the next batch resumes.
-- Index-assisted (jobs_finished_by_name), so its cost does not grow with the whole status:
--   * names: the distinct job names of the status from $4 on, by a skip scan (one index probe
--     per name, a recursive CTE, since PostgreSQL has no loose index scan);
--   * cutoff: per name, the finish time of its $2-th newest row (a backward scan of $2 index
--     entries; NULL when the name has $2 rows or fewer, and nothing of it is deleted);
--   * doomed: per name, its rows finished before the cutoff, oldest first, by index range.
-- The CTEs are evaluated only as far as `doomed`'s LIMIT pulls, and a batch resumes at the
-- name the previous one stopped in: a pass computes each name's cutoff about once, instead of
-- every batch computing every name's cutoff again (900k rows over 100 names: 121 s before).
-- Rows finished at the same instant as the cutoff row are kept: a name keeps at least $2.
-- SKIP LOCKED: two passes at once delete each row once.
WITH RECURSIVE names AS (
    (SELECT name
       FROM __SCHEMA__.jobs
      WHERE status = $1
        AND name >= coalesce($4::text, '')
      ORDER BY name
      LIMIT 1)
    UNION ALL
    SELECT (SELECT j.name
              FROM __SCHEMA__.jobs AS j
             WHERE j.status = $1
               AND j.name > names.name
             ORDER BY j.name
             LIMIT 1)
      FROM names
     WHERE names.name IS NOT NULL
), cutoffs AS (
    SELECT names.name,
           CASE WHEN $2::bigint = 0 THEN 'infinity'::timestamptz
                ELSE (SELECT j.finished_at
                        FROM __SCHEMA__.jobs AS j
                       WHERE j.status = $1
                         AND j.name = names.name
                       ORDER BY j.finished_at DESC
                      OFFSET greatest($2::bigint - 1, 0)
                       LIMIT 1)
           END AS cutoff
      FROM names
     WHERE names.name IS NOT NULL
), doomed AS (
    SELECT old.id
      FROM cutoffs
     CROSS JOIN LATERAL (
           SELECT j.id
             FROM __SCHEMA__.jobs AS j
            WHERE j.status = $1
              AND j.name = cutoffs.name
              AND j.finished_at < cutoffs.cutoff
            ORDER BY j.finished_at
            LIMIT $3
              FOR UPDATE SKIP LOCKED) AS old
     WHERE cutoffs.cutoff IS NOT NULL
     LIMIT $3
), deleted AS (
    DELETE FROM __SCHEMA__.jobs AS j
     USING doomed
     WHERE j.id = doomed.id
       AND j.status = $1
    RETURNING j.name
)
SELECT count(*) AS deleted, max(name) AS last_name
  FROM deleted
