-- retention: take this interval's turn. Concurrent callers serialise on the single row and
-- re-check the condition after the winner's update, so exactly one wins per interval.
UPDATE __SCHEMA__.vacuum_state
   SET last_run_at = now(), last_worker = $1
 WHERE last_run_at IS NULL
    OR last_run_at <= now() - $2 * interval '1 millisecond'
RETURNING true
