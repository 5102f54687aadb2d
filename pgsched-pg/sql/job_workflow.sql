-- inspect a workflow: job $1 and every job linked to it through dependencies, in either
-- direction (its parents, their other children, ...), at most $2 of them, each with its
-- parents and dependents as get_job.sql. The walk follows job_dependencies by its primary
-- key (parent side) and job_dependencies_child (child side); UNION visits each job once.
WITH RECURSIVE workflow(id) AS (
    SELECT $1::text
    UNION
    SELECT linked.id
      FROM workflow AS w
     CROSS JOIN LATERAL (SELECT d.child_id AS id FROM __SCHEMA__.job_dependencies AS d
                          WHERE d.parent_id = w.id
                         UNION ALL
                         SELECT d.parent_id FROM __SCHEMA__.job_dependencies AS d
                          WHERE d.child_id = w.id) AS linked
), members AS (
    SELECT id FROM workflow LIMIT $2
)
SELECT id, name, status, priority, attempts, max_retries, run_at, last_error, worker_id,
       misfire_grace_ms, timeout_ms, created_at, started_at, finished_at, payload, schema_hash,
       jobs.queue, jobs.concurrency_key,
       ARRAY(SELECT d.parent_id FROM __SCHEMA__.job_dependencies AS d
              WHERE d.child_id = jobs.id ORDER BY d.parent_id) AS parents,
       ARRAY(SELECT d.child_id FROM __SCHEMA__.job_dependencies AS d
              WHERE d.parent_id = jobs.id ORDER BY d.child_id) AS dependents,
       output, output_schema_hash
  FROM __SCHEMA__.jobs
 WHERE id IN (SELECT id FROM members)
 ORDER BY created_at, id
