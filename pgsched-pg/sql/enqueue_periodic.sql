-- Enqueue one window of a periodic schedule, exactly once across every replica: the
-- compare-and-set advances last_window only if this window is newer (and the schedule is
-- enabled), and the job is inserted only if that succeeded, in the same statement.
-- The window must also belong to the schedule in force: the same job and schedule text as
-- the row (a replica whose schedule lost to a more recently started registration enqueues
-- nothing, even if the row changed after it read it), and not before that schedule came into
-- force.
-- $1 key, $2 window, $3 job id, $4 name, $5 payload, $6 schema hash, $7 priority,
-- $8 max retries, $9 misfire grace ms (NULL: never), $10 timeout ms, $11 exclusive key,
-- $12 schedule text.
WITH advanced AS (
    UPDATE __SCHEMA__.periodic_schedules
       SET last_window = $2, last_job_id = $3, updated_at = now()
     WHERE dedup_key = $1
       AND enabled
       AND job_name = $4
       AND schedule = $12
       AND $2 >= schedule_since
       AND (last_window IS NULL OR last_window < $2)
    RETURNING dedup_key
)
INSERT INTO __SCHEMA__.jobs
       (id, name, payload, schema_hash, run_at, priority, max_retries,
        misfire_grace_ms, expires_at, timeout_ms, exclusive_key, status)
SELECT $3, $4, $5, $6, $2, $7, $8, $9, $2 + $9 * interval '1 millisecond', $10, $11,
       __SCHEMA__.waiting_status($2, $9)
  FROM advanced
    ON CONFLICT (id) DO NOTHING
RETURNING id
