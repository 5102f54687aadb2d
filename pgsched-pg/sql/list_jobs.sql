-- inspect many jobs: optional status ($1), name ($2) and queue ($4) filters, newest first,
-- at most $3. Each with its parents and dependents, as job_info.sql lists them.
-- The public status "pending" covers the rows still waiting for their due time (scheduled).
SELECT __JOB_INFO__
  FROM __SCHEMA__.jobs
 WHERE ($1::text IS NULL OR status = $1 OR ($1 = 'pending' AND status = 'scheduled'))
   AND ($2::text IS NULL OR name = $2)
   AND ($4::text IS NULL OR queue = $4)
 ORDER BY created_at DESC, id DESC
 LIMIT $3
