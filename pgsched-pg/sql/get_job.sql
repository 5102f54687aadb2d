-- inspect one job, with the jobs it runs after (parents) and those that run after it
-- (dependents), by id.
SELECT __JOB_INFO__
  FROM __SCHEMA__.jobs
 WHERE id = $1
