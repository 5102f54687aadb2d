-- dashboard job page: the errors of a job's attempts, oldest first (attempt_errors, migration
-- 0016: the most recent ones that ended with an error), each entry of the array as a row with
-- its place in it ($1: the job's id; no row: no such job, or no attempt ended with an error).
-- One primary-key lookup; reads only, no row lock.
SELECT (e.entry ->> 'attempt')::int4 AS attempt,
       (e.entry ->> 'at')::timestamptz AS at,
       e.entry ->> 'error' AS error
  FROM __SCHEMA__.jobs AS j,
       jsonb_array_elements(coalesce(j.attempt_errors, '[]'::jsonb)) WITH ORDINALITY
           AS e(entry, place)
 WHERE j.id = $1
 ORDER BY e.place
