-- retry (operator): a failed or expired job becomes pending again, due now, with its attempts
-- reset and no lease. last_error is kept as history until the next attempt overwrites it. Like
-- a retry after a failure it can no longer expire (expires_at cleared). Wakes workers ($2 is
-- the notification channel; NULL: nobody listens) at commit.
WITH retried AS (
    UPDATE __SCHEMA__.jobs
       SET status = 'pending',
           attempts = 0,
           run_at = now(),
           expires_at = NULL,
           lease_token = NULL,
           lease_expires_at = NULL,
           finished_at = NULL
     WHERE id = $1
       AND status IN ('failed', 'expired')
    RETURNING id
)
SELECT id, CASE WHEN $2::text IS NOT NULL THEN pg_notify($2, '') END IS NULL AS notified FROM retried
