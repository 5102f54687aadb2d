-- Enqueue one window of a periodic schedule, exactly once across every replica: the
-- compare-and-set advances last_window only if this window is newer (and the schedule is
-- enabled), and the job is inserted only if that succeeded, in the same statement.
-- $1 key, $2 window, $3 job id, $4 name, $5 payload, $6 schema hash, $7 priority,
-- $8 max retries, $9 misfire grace ms (NULL: never), $10 timeout ms, $11 exclusive key.
WITH advanced AS (
    UPDATE __SCHEMA__.periodic_schedules
       SET last_window = $2, last_job_id = $3, updated_at = now()
     WHERE dedup_key = $1
       AND enabled
       AND (last_window IS NULL OR last_window < $2)
    RETURNING dedup_key
)
INSERT INTO __SCHEMA__.jobs
       (id, name, payload, schema_hash, run_at, priority, max_retries,
        misfire_grace_ms, expires_at, timeout_ms, exclusive_key)
SELECT $3, $4, $5, $6, $2, $7, $8, $9, $2 + $9 * interval '1 millisecond', $10, $11
  FROM advanced
    ON CONFLICT (id) DO NOTHING
RETURNING id
