-- claim: take up to $1 due jobs, most urgent first, for worker $3, with a lease of $2 ms.
-- The candidates are read from the partial index jobs_claim_order in (priority, run_at,
-- created_at, id) order: priority, then due time, then insertion order (migration 0006),
-- one priority level ($4, most urgent first) after the other, each level's probe pulled
-- only as far as the outer LIMIT needs (a nested loop: nothing is locked that is not taken).
-- It skips rows other workers are claiming right now (SKIP LOCKED), so workers never wait on
-- each other and never take the same row. Due times and misfires use the database clock.
--
-- Each level's probe seeks to its floor ($5 due time, $6 insertion time, $7 id; NULL: the
-- front):
-- the key of the newest job this worker claimed at that level while claims came back full
-- (see ClaimFloor in pgsched-core). Claimed jobs leave dead entries at the front of the
-- index that VACUUM cannot remove while an old transaction anywhere in the cluster holds
-- back its horizon; seeking past them keeps the claim's cost flat. The worker reads from
-- the front after a short claim and at least once a second.
--
-- Only `pending` rows are in that index, and they are all due: jobs due later wait as
-- `scheduled` until promote_jobs.sql moves them here (or expires them), so the cost of a
-- claim does not grow with jobs due tomorrow or with jobs that missed their window while no
-- worker ran. (`run_at <= now()` stays as a guard; it never filters anything out.) A job
-- that passed its misfire grace while waiting here is skipped (the sweep marks it expired);
-- a claim clears expires_at, so a retry or a recovered job can never expire.
--
-- The lease runs from clock_timestamp(), when the row is actually claimed, not from now()
-- (when the statement started): a claim that waited on a lock or a stalled server must not
-- hand out a lease that expired while it waited. The worker measures its side of the lease
-- from when it sent this statement, which is earlier still, so it always gives up first.
--
-- The lease token is a random 64-bit value (64 bits of an MD5 of a random UUID): unlike a
-- sequence, it cannot repeat after a crash loses this asynchronously committed claim, or
-- after a failover to a replica that never saw it, so a zombie's token never matches a new
-- holder's.
--
-- Exclusive keys: a job whose key has a running job is skipped, and at most one job per key
-- is taken by one claim (the first in claim order). Two concurrent claims can still both
-- pick a job of the same key (neither sees the other's uncommitted running row); the unique
-- index jobs_exclusive_running then fails the second one, which the store retries at once.
WITH candidates AS (
    SELECT c.id, c.exclusive_key, c.priority, c.run_at, c.created_at
      FROM unnest($4::int2[], $5::timestamptz[], $6::timestamptz[], $7::text[])
           AS level(priority, floor_run_at, floor_created_at, floor_id)
     CROSS JOIN LATERAL (
           SELECT id, exclusive_key, priority, run_at, created_at
             FROM __SCHEMA__.jobs AS pending
            WHERE status = 'pending'
              -- `<=`, not `=`: with an equality on the leading column the index scan would
              -- start at the level's first entry and test the floor on every entry after
              -- it; with only the floor as its lower bound it seeks straight to the floor.
              AND priority <= level.priority
              AND (priority, run_at, created_at, id)
                  >= (level.priority,
                      coalesce(level.floor_run_at, '-infinity'),
                      coalesce(level.floor_created_at, '-infinity'),
                      coalesce(level.floor_id, ''))
              AND run_at <= now()
              AND (expires_at IS NULL OR expires_at >= now())
              AND (exclusive_key IS NULL
                   OR NOT EXISTS (SELECT 1
                                    FROM __SCHEMA__.jobs AS holder
                                   WHERE holder.exclusive_key = pending.exclusive_key
                                     AND holder.status = 'running'))
            ORDER BY priority, run_at, created_at, id
            LIMIT $1
              FOR UPDATE SKIP LOCKED) AS c
     LIMIT $1
), chosen AS (
    SELECT id
      FROM (SELECT id, exclusive_key,
                   row_number() OVER (PARTITION BY exclusive_key ORDER BY priority, run_at, created_at, id) AS rank
              FROM candidates) AS ranked
     WHERE exclusive_key IS NULL OR rank = 1
)
UPDATE __SCHEMA__.jobs AS j
   SET status = 'running',
       attempts = j.attempts + 1,
       lease_token = ('x' || substr(md5(gen_random_uuid()::text), 1, 16))::bit(64)::bigint,
       lease_expires_at = clock_timestamp() + $2 * interval '1 millisecond',
       worker_id = $3,
       started_at = now(),
       expires_at = NULL
  FROM chosen c
 WHERE j.id = c.id
RETURNING j.id, j.name, j.payload, j.schema_hash, j.attempts, j.max_retries, j.priority,
          j.run_at, j.created_at, j.lease_token, j.timeout_ms, j.trace_context,
          now() AS claimed_at
