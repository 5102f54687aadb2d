-- Enqueue one window of a periodic schedule, exactly once across every replica: the
-- compare-and-set advances last_window only if this window is newer (and the schedule is
-- enabled), and the job is inserted only if that succeeded, in the same statement.
-- The window must also belong to the schedule in force: the same job and schedule text as
-- the row (a replica whose schedule lost to a more recently started registration enqueues
-- nothing, even if the row changed after it read it), and not before that schedule came into
-- force.
-- $1.. the job's columns (job_row.rs; its run_at is the window), then $11 key, $12 window,
-- $13 schedule text.
WITH advanced AS (
    UPDATE __SCHEMA__.periodic_schedules
       SET last_window = $12, last_job_id = $1, updated_at = now()
     WHERE dedup_key = $11
       AND enabled
       AND job_name = $2
       AND schedule = $13
       AND $12 >= schedule_since
       AND (last_window IS NULL OR last_window < $12)
    RETURNING dedup_key
)
INSERT INTO __SCHEMA__.jobs (__JOB_COLUMNS__)
SELECT __JOB_VALUES__
  FROM advanced, __JOB_SCALARS__
    ON CONFLICT (id) DO NOTHING
RETURNING id
