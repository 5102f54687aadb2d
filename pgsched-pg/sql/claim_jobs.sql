-- claim: take up to $1 due jobs, most urgent first, for worker $3, with a lease of $2 ms.
-- The inner SELECT walks the partial index jobs_claim_order in (priority, run_at) order and
-- skips rows other workers are claiming right now (SKIP LOCKED), so workers never wait on
-- each other and never take the same row. Every decision uses the database clock.
-- A job past its misfire grace is not started (the sweep marks it expired); a claim clears
-- expires_at, so a retry or a recovered job can never expire.
WITH candidates AS (
    SELECT id
      FROM __SCHEMA__.jobs
     WHERE status = 'pending'
       AND run_at <= now()
       AND (expires_at IS NULL OR expires_at >= now())
     ORDER BY priority, run_at
     LIMIT $1
       FOR UPDATE SKIP LOCKED
)
UPDATE __SCHEMA__.jobs AS j
   SET status = 'running',
       attempts = j.attempts + 1,
       lease_token = nextval('__SCHEMA__.lease_tokens'),
       lease_expires_at = now() + $2 * interval '1 millisecond',
       worker_id = $3,
       started_at = now(),
       expires_at = NULL
  FROM candidates c
 WHERE j.id = c.id
RETURNING j.id, j.name, j.payload, j.schema_hash, j.attempts, j.max_retries, j.priority,
          j.run_at, j.lease_token, j.timeout_ms, now() AS claimed_at
