-- wait: mark a job awaited, so that its end notifies its waiters (the trigger of migration
-- 0011), and return it as get_job does. An UPDATE rather than a read, for the row lock: a
-- finish that commits while this runs either comes first (this statement waits for it and
-- returns the ended row) or comes after and sees the mark (and notifies); never neither.
-- The column is in no index, so the update is a HOT one.
UPDATE __SCHEMA__.jobs
   SET awaited = true
 WHERE id = $1
RETURNING id, name, status, priority, attempts, max_retries, run_at, last_error, worker_id,
          misfire_grace_ms, timeout_ms, created_at, started_at, finished_at, payload, schema_hash,
          output, output_schema_hash
