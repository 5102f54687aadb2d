-- wait: mark a job awaited, so that its end notifies its waiters (the trigger of migration
-- 0011), and return it as get_job does. An UPDATE rather than a read, for the row lock: a
-- finish that commits while this runs either comes first (this statement waits for it and
-- returns the ended row) or comes after and sees the mark (and notifies); never neither.
-- The column is in no index, so the update is a HOT one. With the job's parents and
-- dependents, as get_job.sql.
UPDATE __SCHEMA__.jobs
   SET awaited = true
 WHERE id = $1
RETURNING id, name, status, priority, attempts, max_retries, run_at, last_error, worker_id,
          misfire_grace_ms, timeout_ms, created_at, started_at, finished_at, payload, schema_hash,
          queue, concurrency_key,
          output, output_schema_hash,
          ARRAY(SELECT d.parent_id FROM __SCHEMA__.job_dependencies AS d
                 WHERE d.child_id = jobs.id ORDER BY d.parent_id) AS parents,
          ARRAY(SELECT d.child_id FROM __SCHEMA__.job_dependencies AS d
                 WHERE d.parent_id = jobs.id ORDER BY d.child_id) AS dependents
