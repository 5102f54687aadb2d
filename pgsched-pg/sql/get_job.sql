-- inspect one job, with the jobs it runs after (parents) and those that run after it
-- (dependents), by id.
SELECT id, name, status, priority, attempts, max_retries, run_at, last_error, worker_id,
       misfire_grace_ms, timeout_ms, created_at, started_at, finished_at, payload, schema_hash,
       queue, concurrency_key,
       ARRAY(SELECT d.parent_id FROM __SCHEMA__.job_dependencies AS d
              WHERE d.child_id = jobs.id ORDER BY d.parent_id) AS parents,
       ARRAY(SELECT d.child_id FROM __SCHEMA__.job_dependencies AS d
              WHERE d.parent_id = jobs.id ORDER BY d.child_id) AS dependents,
       output, output_schema_hash
  FROM __SCHEMA__.jobs
 WHERE id = $1
