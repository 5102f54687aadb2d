-- Enqueue one window of a periodic schedule, exactly once across every replica: the
-- compare-and-set advances last_window only if this window is newer (and the schedule is
-- enabled), and the job is inserted only if that succeeded, in the same statement.
-- The window must also belong to the schedule in force: the same job and schedule text as
-- the row (a replica whose schedule lost to a more recently started registration enqueues
-- nothing, even if the row changed after it read it), and not before that schedule came into
-- force.
-- $1 key, $2 window, $3 schedule text; the job's columns follow (job_row.rs; its run_at is the
-- window, except for a test's clock ahead of the database's, which writes NULL: due now).
WITH input AS (
    SELECT * FROM __JOB_SCALARS__
), advanced AS (
    UPDATE __SCHEMA__.periodic_schedules
       SET last_window = $2, last_job_id = input.id, updated_at = now()
      FROM input
     WHERE dedup_key = $1
       AND enabled
       AND job_name = input.name
       AND schedule = $3
       AND $2 >= schedule_since
       AND (last_window IS NULL OR last_window < $2)
    RETURNING dedup_key
)
INSERT INTO __SCHEMA__.jobs (__JOB_COLUMNS__)
SELECT __JOB_VALUES__
  FROM advanced, input AS d
    ON CONFLICT (id) DO NOTHING
RETURNING id
