-- The enqueuer's view at one tick: every schedule's state, and the database clock that
-- every window decision uses.
SELECT dedup_key, enabled, last_window, last_job_id, now() AS db_now
  FROM __SCHEMA__.periodic_schedules
 ORDER BY dedup_key
