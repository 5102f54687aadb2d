-- wait: mark a job awaited, so that its end notifies its waiters (the trigger of migration
-- 0011), and return it as get_job does. An UPDATE rather than a read, for the row lock: a
-- finish that commits while this runs either comes first (this statement waits for it and
-- returns the ended row) or comes after and sees the mark (and notifies); never neither.
-- The column is in no index, so the update is a HOT one. With the job's parents and
-- dependents, as job_info.sql lists them.
UPDATE __SCHEMA__.jobs
   SET awaited = true
 WHERE id = $1
RETURNING __JOB_INFO__
