-- inspect many jobs: optional status ($1), name ($2) and queue ($4) filters, newest first,
-- at most $3.
-- The public status "pending" covers the rows still waiting for their due time (scheduled).
SELECT id, name, status, priority, attempts, max_retries, run_at, last_error, worker_id,
       misfire_grace_ms, timeout_ms, created_at, started_at, finished_at, payload, schema_hash,
       queue, concurrency_key, output, output_schema_hash
  FROM __SCHEMA__.jobs
 WHERE ($1::text IS NULL OR status = $1 OR ($1 = 'pending' AND status = 'scheduled'))
   AND ($2::text IS NULL OR name = $2)
   AND ($4::text IS NULL OR queue = $4)
 ORDER BY created_at DESC, id DESC
 LIMIT $3
