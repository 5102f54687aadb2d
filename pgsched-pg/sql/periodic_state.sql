-- One schedule's state and its last run.
SELECT dedup_key, job_name, schedule, enabled, last_window, last_job_id, schedule_since,
       registered_at, registered_by, updated_at, now() AS db_now
  FROM __SCHEMA__.periodic_schedules
 WHERE dedup_key = $1
