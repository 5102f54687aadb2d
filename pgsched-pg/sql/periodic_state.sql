-- One schedule's state and its last run.
SELECT dedup_key, enabled, last_window, last_job_id, now() AS db_now
  FROM __SCHEMA__.periodic_schedules
 WHERE dedup_key = $1
