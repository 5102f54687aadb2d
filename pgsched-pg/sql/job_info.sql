-- The columns of a job as inspection returns it (JobRow in rows.rs reads them by name): the
-- row of the `jobs` table in scope, its parents and its dependents. A fragment, not a
-- statement: statements.rs renders it into get_job.sql, list_jobs.sql, parent_jobs.sql,
-- job_workflow.sql and await_job.sql as __JOB_INFO__, so a column added to the job is added
-- to every one of them at once.
jobs.id, jobs.name, jobs.status, jobs.priority, jobs.attempts, jobs.max_retries, jobs.run_at,
jobs.last_error, jobs.worker_id, jobs.misfire_grace_ms, jobs.timeout_ms, jobs.created_at,
jobs.started_at, jobs.finished_at, jobs.payload, jobs.schema_hash, jobs.queue,
jobs.concurrency_key, jobs.output, jobs.output_schema_hash,
ARRAY(SELECT d.parent_id FROM __SCHEMA__.job_dependencies AS d
       WHERE d.child_id = jobs.id ORDER BY d.parent_id) AS parents,
ARRAY(SELECT d.child_id FROM __SCHEMA__.job_dependencies AS d
       WHERE d.parent_id = jobs.id ORDER BY d.child_id) AS dependents
