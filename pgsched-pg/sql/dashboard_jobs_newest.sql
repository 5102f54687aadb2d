-- dashboard jobs list, newest first: one page of at most $9 jobs by keyset on (created_at, id),
-- after the row ($7, $8) the previous page ended on (NULL: the first page). The order and its
-- indexes are migration 0013's; dashboard_jobs_oldest.sql is the same list the other way.
-- Filters (NULL: none): stored status $1, and $2 a second stored status read alongside it (the
-- public status "pending" is the stored `pending` and `scheduled`); job name $3; queue $11
-- (compared in the "C" collation, as the status is: its index, migration 0017, is then out of
-- the workers' reach; equality is the same in either collation); id pattern $4 (an id
-- prefix, its LIKE characters escaped, then `%`);
-- created at or after $5 and before $6. The error text is cut to $10 characters.
-- Run with plan_cache_mode = force_custom_plan (see PgStore::dashboard_jobs): the NULL tests
-- fold away, so each branch reads from the index of the filters actually given
-- (jobs_status_c_created, jobs_name_created, jobs_queue_c_created or jobs_created;
-- jobs_id_prefix for a rare id prefix, its matches then sorted) and stops after a page, and the
-- second branch is not run at all without a second status. The two branches are merged by
-- the same order (a merge of two sorted inputs), never sorted whole. Reads only: no row lock.
SELECT * FROM (
(SELECT id, name, status, priority, attempts, max_retries, run_at, created_at, started_at,
        finished_at, left(last_error, $10) AS last_error, worker_id, queue
   FROM __SCHEMA__.jobs
  WHERE ($1::text IS NULL OR status COLLATE "C" = $1)
    AND ($3::text IS NULL OR name = $3)
    AND ($11::text IS NULL OR queue COLLATE "C" = $11)
    AND ($4::text IS NULL OR id LIKE $4)
    AND ($5::timestamptz IS NULL OR created_at >= $5)
    AND ($6::timestamptz IS NULL OR created_at < $6)
    AND ($7::timestamptz IS NULL OR (created_at, id) < ($7, $8::text))
  ORDER BY created_at DESC, id DESC
  LIMIT $9)
UNION ALL
(SELECT id, name, status, priority, attempts, max_retries, run_at, created_at, started_at,
        finished_at, left(last_error, $10) AS last_error, worker_id, queue
   FROM __SCHEMA__.jobs
  WHERE $2::text IS NOT NULL AND status COLLATE "C" = $2
    AND ($3::text IS NULL OR name = $3)
    AND ($11::text IS NULL OR queue COLLATE "C" = $11)
    AND ($4::text IS NULL OR id LIKE $4)
    AND ($5::timestamptz IS NULL OR created_at >= $5)
    AND ($6::timestamptz IS NULL OR created_at < $6)
    AND ($7::timestamptz IS NULL OR (created_at, id) < ($7, $8::text))
  ORDER BY created_at DESC, id DESC
  LIMIT $9)
) AS page
ORDER BY created_at DESC, id DESC
LIMIT $9
