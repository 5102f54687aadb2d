-- a job's parents: the jobs job $1 runs after (only $2 when given, if it is one), by id,
-- each as get_job.sql shows it (with its status and output): what a running job reads its
-- parents' outputs from. The edges by the child (job_dependencies_child), each parent by its
-- primary key.
SELECT jobs.id, name, status, priority, attempts, max_retries, run_at, last_error, worker_id,
       misfire_grace_ms, timeout_ms, created_at, started_at, finished_at, payload, schema_hash,
       queue, concurrency_key,
       ARRAY(SELECT d.parent_id FROM __SCHEMA__.job_dependencies AS d
              WHERE d.child_id = jobs.id ORDER BY d.parent_id) AS parents,
       ARRAY(SELECT d.child_id FROM __SCHEMA__.job_dependencies AS d
              WHERE d.parent_id = jobs.id ORDER BY d.child_id) AS dependents,
       output, output_schema_hash
  FROM __SCHEMA__.job_dependencies AS edge
  JOIN __SCHEMA__.jobs ON jobs.id = edge.parent_id
 WHERE edge.child_id = $1
   AND ($2::text IS NULL OR edge.parent_id = $2)
 ORDER BY jobs.id
