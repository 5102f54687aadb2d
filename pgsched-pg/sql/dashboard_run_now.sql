-- dashboard action "run now" (operator): a job waiting for its due time ($1, `scheduled`, or
-- `pending` already) becomes due now by the database clock and claimable. A job that can
-- expire keeps its misfire grace, counted from now. Wakes workers ($2 is the notification
-- channel; NULL: nobody listens) at commit. The UPDATE's row lock orders it with a claim of
-- the same row: the status test is re-checked on the row the claim left, so a job already
-- running is not touched.
WITH moved AS (
    UPDATE __SCHEMA__.jobs
       SET status = 'pending',
           run_at = now(),
           expires_at = now() + misfire_grace_ms * interval '1 millisecond'
     WHERE id = $1
       AND status IN ('scheduled', 'pending')
    RETURNING id
)
SELECT id, CASE WHEN $2::text IS NOT NULL THEN pg_notify($2, '') END IS NULL AS notified FROM moved
