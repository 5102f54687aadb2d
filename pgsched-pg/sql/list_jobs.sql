-- inspect many jobs: optional status ($1), name ($2) and queue ($4) filters, newest first,
-- at most $3. Each with its parents and dependents, as get_job.sql.
-- The public status "pending" covers the rows still waiting for their due time (scheduled).
SELECT id, name, status, priority, attempts, max_retries, run_at, last_error, worker_id,
       misfire_grace_ms, timeout_ms, created_at, started_at, finished_at, payload, schema_hash,
       queue, concurrency_key,
       ARRAY(SELECT d.parent_id FROM __SCHEMA__.job_dependencies AS d
              WHERE d.child_id = jobs.id ORDER BY d.parent_id) AS parents,
       ARRAY(SELECT d.child_id FROM __SCHEMA__.job_dependencies AS d
              WHERE d.parent_id = jobs.id ORDER BY d.child_id) AS dependents,
       output, output_schema_hash
  FROM __SCHEMA__.jobs
 WHERE ($1::text IS NULL OR status = $1 OR ($1 = 'pending' AND status = 'scheduled'))
   AND ($2::text IS NULL OR name = $2)
   AND ($4::text IS NULL OR queue = $4)
 ORDER BY created_at DESC, id DESC
 LIMIT $3
