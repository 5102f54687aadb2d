-- inspect one job.
SELECT id, name, status, priority, attempts, max_retries, run_at, last_error, worker_id,
       misfire_grace_ms, timeout_ms, created_at, started_at, finished_at, payload, schema_hash,
       queue, concurrency_key, output, output_schema_hash
  FROM __SCHEMA__.jobs
 WHERE id = $1
