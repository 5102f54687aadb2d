-- Enable or disable a schedule, for every replica. Disabling also cancels its run that was
-- enqueued ahead and has not started.
WITH changed AS (
    UPDATE __SCHEMA__.periodic_schedules
       SET enabled = $2, updated_at = now()
     WHERE dedup_key = $1
    RETURNING last_job_id
), cancelled AS (
    UPDATE __SCHEMA__.jobs
       SET status = 'cancelled', finished_at = now(), last_error = 'cancelled: periodic job disabled'
     WHERE NOT $2
       AND id = (SELECT last_job_id FROM changed)
       AND status IN ('scheduled', 'pending')
       AND run_at > now()
    RETURNING id
)
SELECT count(*) AS changed FROM changed
