-- pgsched schema, version 14: the dashboard's status index is out of the workers' reach.
--
-- jobs_status_created (migration 13) led with `status`, so every statement of a worker that
-- reads the jobs of one status (the claim reads `pending`, the sweeps `running`) could read it
-- instead of its own partial index. When the statistics were taken while few jobs were
-- pending (the usual state of a queue that keeps up, and of one whose backlog is still
-- scheduled), the planner took it for the cheaper path, and each claim then read every
-- pending job (and the dead entries of the ones claimed before) to sort them: 20,000 jobs
-- falling due over four queues drained at a twentieth of the usual speed.
--
-- Its replacement compares `status` in the "C" collation. An index serves only comparisons
-- in its own collation: the dashboard's list (dashboard_jobs_newest.sql,
-- dashboard_jobs_oldest.sql) writes `status COLLATE "C" = $1` to read it; every other
-- statement compares `status` in the column's collation and cannot be led onto it, whatever
-- the statistics say. (The statuses are ASCII words: both collations agree on equality.)
--
-- On a large table, build it by hand first, as for migration 13:
-- CREATE INDEX CONCURRENTLY jobs_status_c_created ON <schema>.jobs (status COLLATE "C", created_at, id);
DROP INDEX IF EXISTS jobs_status_created;
CREATE INDEX IF NOT EXISTS jobs_status_c_created ON jobs (status COLLATE "C", created_at, id);
