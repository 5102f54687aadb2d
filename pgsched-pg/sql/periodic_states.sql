-- The enqueuer's view at one tick: every schedule's state (with the schedule in force, since
-- when, and who registered it), and the database clock that every window decision uses.
SELECT dedup_key, job_name, schedule, enabled, last_window, last_job_id, schedule_since,
       registered_at, registered_by, updated_at, now() AS db_now
  FROM __SCHEMA__.periodic_schedules
 ORDER BY dedup_key
