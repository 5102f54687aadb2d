-- inspect a workflow: job $1 and every job linked to it through dependencies, in either
-- direction (its parents, their other children, ...), at most $2 of them, each with its
-- parents and dependents as job_info.sql lists them. The walk follows job_dependencies by its primary
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
SELECT __JOB_INFO__
  FROM __SCHEMA__.jobs
 WHERE id IN (SELECT id FROM members)
 ORDER BY created_at, id
