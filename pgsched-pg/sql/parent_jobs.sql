-- a job's parents: the jobs job $1 runs after (only $2 when given, if it is one), by id,
-- each as job_info.sql lists it (with its status and output): what a running job reads its
-- parents' outputs from. The edges by the child (job_dependencies_child), each parent by its
-- primary key.
SELECT __JOB_INFO__
  FROM __SCHEMA__.job_dependencies AS edge
  JOIN __SCHEMA__.jobs ON jobs.id = edge.parent_id
 WHERE edge.child_id = $1
   AND ($2::text IS NULL OR edge.parent_id = $2)
 ORDER BY jobs.id
