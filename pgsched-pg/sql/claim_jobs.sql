-- claim: take up to $1 due jobs of queue $8, most urgent first, for worker $3, with a lease
-- of $2 ms, within the queue's limits (see "Flow control" below). Jobs without a concurrency
-- key are read from the partial index jobs_claim_order in (queue, priority, run_at,
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
-- Flow control (migration 0010): nothing is claimed from a paused queue. A queue with a
-- concurrency limit, and a job with a concurrency key, need a free numbered slot in
-- running_slots: this statement counts the free ones from its snapshot to size its take, then
-- inserts the slots with ON CONFLICT DO NOTHING (each claim looking for them from its own place
-- round the queue's slots, $10). Those unique indexes are what make the
-- limits exact: a slot that another claim took after this snapshot is a conflict, and its job
-- is simply not claimed this time (it stays pending, for the next claim); a slot freed after
-- this snapshot is not seen, which only errs on the safe side. Slots are freed by a trigger in
-- the same transaction that moves their job out of `running` (recovery included), and the
-- trigger wakes the workers.
--
-- Keyed jobs are found by walking the queue's distinct keys (jobs_claim_keyed, one index seek
-- per key) from $9, the key after which this worker's last claim stopped, round-robin: a key
-- with ten thousand jobs is one step of the walk like a key with one, so it never starves
-- the others of the slots they may use. Each key contributes its first jobs in claim order,
-- as many as its free slots. Within what the limits allow, the take is in claim order.
--
-- A queue with a rate limit of N per period has N rows in rate_slots; each start takes one
-- whose free_at has passed and moves it one period ahead (exact: FOR UPDATE re-checks the
-- row's latest version). The take is cut to the rate slots taken.
WITH RECURSIVE settings AS (
    -- One row always (an aggregate): the queue's settings, or none when it has no row.
    SELECT coalesce(bool_or(q.paused), false) AS paused,
           min(q.concurrency_limit) AS queue_limit,
           min(q.rate_limit) AS rate_limit,
           min(q.rate_period_ms) AS rate_period_ms
      FROM __SCHEMA__.queues AS q
     WHERE q.name = $8
), queue_free AS (
    -- The queue's first $1 free slots (empty without a limit), round the ring from this
    -- claim's own start ($10, in 65,536ths of the limit: see ClaimFloor::slot_start), so that
    -- claims in flight at once take different free slots instead of racing for the lowest.
    -- The ring is walked lazily: it stops at the $1-th free slot, so a claim probes the slots
    -- taken before it, never the whole limit unless the queue is full.
    SELECT array(SELECT ring.s
                   FROM settings,
                        LATERAL (SELECT ($10::int8 * settings.queue_limit / 65536)::int4 AS at)
                            AS start,
                        LATERAL (SELECT generate_series(start.at, settings.queue_limit - 1)
                                 UNION ALL
                                 SELECT generate_series(0, start.at - 1)) AS ring(s)
                  WHERE settings.queue_limit IS NOT NULL
                    AND NOT EXISTS (SELECT 1 FROM __SCHEMA__.running_slots AS r
                                     WHERE r.queue = $8 AND r.queue_slot = ring.s)
                  LIMIT $1) AS slots
), room AS (
    -- How many this claim may take from the queue.
    SELECT CASE WHEN settings.paused THEN 0
                WHEN settings.queue_limit IS NULL THEN $1
                ELSE least($1, cardinality(queue_free.slots)) END AS n
      FROM settings, queue_free
), keys AS (
    -- The queue's keys with due jobs, in key order from after $9 (a skip scan).
    (SELECT k.concurrency_key AS key
       FROM __SCHEMA__.jobs AS k
      WHERE k.status = 'pending' AND k.queue = $8 AND k.concurrency_key IS NOT NULL
        AND k.concurrency_key > coalesce($9, '')
      ORDER BY k.concurrency_key
      LIMIT 1)
    UNION ALL
    SELECT next.key
      FROM keys
     CROSS JOIN LATERAL (
           SELECT k.concurrency_key AS key
             FROM __SCHEMA__.jobs AS k
            WHERE k.status = 'pending' AND k.queue = $8 AND k.concurrency_key IS NOT NULL
              AND k.concurrency_key > keys.key
            ORDER BY k.concurrency_key
            LIMIT 1) AS next
), keyed AS (
    -- Each key's first jobs, as many as its free slots, from a bounded part of the walk.
    SELECT c.id, c.exclusive_key, c.priority, c.run_at, c.created_at, c.concurrency_key,
           key_free.slots[c.rank] AS key_slot
      FROM (SELECT key FROM keys
             LIMIT CASE WHEN (SELECT n FROM room) = 0 THEN 0 ELSE 4 * $1 + 16 END) AS walked
     CROSS JOIN LATERAL (
           -- The key's limit is the one its first due job carries.
           SELECT coalesce((SELECT f.concurrency_limit
                              FROM __SCHEMA__.jobs AS f
                             WHERE f.status = 'pending' AND f.queue = $8
                               AND f.concurrency_key = walked.key
                             ORDER BY f.priority, f.run_at, f.created_at, f.id
                             LIMIT 1), 1) AS key_limit) AS lim
     CROSS JOIN LATERAL (
           -- The key's first free slots, lowest first, at most as many as the claim takes.
           SELECT array(SELECT s
                          FROM generate_series(0, lim.key_limit - 1) AS s
                         WHERE NOT EXISTS (SELECT 1 FROM __SCHEMA__.running_slots AS r
                                            WHERE r.concurrency_key = walked.key
                                              AND r.key_slot = s)
                         LIMIT $1) AS slots) AS key_free
     CROSS JOIN LATERAL (
           SELECT p.id, p.exclusive_key, p.priority, p.run_at, p.created_at, p.concurrency_key,
                  row_number() OVER (ORDER BY p.priority, p.run_at, p.created_at, p.id) AS rank
             FROM (SELECT id, exclusive_key, priority, run_at, created_at, concurrency_key
                     FROM __SCHEMA__.jobs AS p
                    WHERE p.status = 'pending' AND p.queue = $8
                      AND p.concurrency_key = walked.key
                      AND p.run_at <= now()
                      AND (p.expires_at IS NULL OR p.expires_at >= now())
                    ORDER BY p.priority, p.run_at, p.created_at, p.id
                    LIMIT cardinality(key_free.slots)
                      FOR UPDATE SKIP LOCKED) AS p) AS c
     -- The walk stops once it has found as many jobs as the claim may take: keys further on
     -- are neither read nor locked.
     LIMIT (SELECT n FROM room)
), unkeyed AS (

    SELECT c.id, c.exclusive_key, c.priority, c.run_at, c.created_at,
           NULL::text AS concurrency_key, NULL::int4 AS key_slot
      FROM unnest($4::int2[], $5::timestamptz[], $6::timestamptz[], $7::text[])
           AS level(priority, floor_run_at, floor_created_at, floor_id)
     CROSS JOIN LATERAL (
           SELECT id, exclusive_key, priority, run_at, created_at
             FROM __SCHEMA__.jobs AS pending
            WHERE status = 'pending'
              AND queue = $8
              AND concurrency_key IS NULL
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
            LIMIT (SELECT n FROM room)
              FOR UPDATE SKIP LOCKED) AS c
     LIMIT (SELECT n FROM room)
), candidates AS (
    SELECT * FROM unkeyed
    UNION ALL
    SELECT * FROM keyed
), chosen AS (
    -- The take, in claim order: at most one job per exclusive key, at most `room`.
    SELECT id, concurrency_key, key_slot,
           row_number() OVER (ORDER BY priority, run_at, created_at, id) AS place
      FROM (SELECT *,
                   row_number() OVER (PARTITION BY exclusive_key ORDER BY priority, run_at, created_at, id) AS rank
              FROM candidates) AS ranked
     WHERE exclusive_key IS NULL OR rank = 1
     ORDER BY priority, run_at, created_at, id
     LIMIT (SELECT n FROM room)
), rate_taken AS (
    -- One rate slot per job of the take, when the queue has a rate limit (else no rows).
    UPDATE __SCHEMA__.rate_slots AS rs
       SET free_at = now() + settings.rate_period_ms * interval '1 millisecond'
      FROM settings,
           (SELECT slot
              FROM __SCHEMA__.rate_slots
             WHERE queue = $8 AND free_at <= now()
             ORDER BY slot
             LIMIT (SELECT count(*) FROM chosen)
               FOR UPDATE SKIP LOCKED) AS free
     WHERE rs.queue = $8 AND rs.slot = free.slot AND rs.free_at <= now()
    RETURNING rs.slot
), started AS (
    -- The take cut to the rate slots taken.
    SELECT chosen.*, (settings.queue_limit IS NOT NULL OR chosen.concurrency_key IS NOT NULL) AS needs_slot
      FROM chosen, settings
     WHERE settings.rate_limit IS NULL
        OR chosen.place <= (SELECT count(*) FROM rate_taken)
), slotted AS (
    -- The slots of the jobs that need them; a slot another claim took meanwhile is a conflict,
    -- and its job is left pending. Written in slot order, so that two claims racing for the
    -- same slots wait on each other in the same order.
    INSERT INTO __SCHEMA__.running_slots (job_id, queue, queue_slot, concurrency_key, key_slot)
    SELECT started.id, $8, queue_free.slots[started.place], started.concurrency_key,
           started.key_slot
      FROM started, queue_free
     WHERE started.needs_slot
     ORDER BY queue_free.slots[started.place], started.concurrency_key, started.key_slot
    ON CONFLICT DO NOTHING
    RETURNING job_id
), taken AS (
    SELECT id, false AS holds_slot FROM started WHERE NOT needs_slot
    UNION ALL
    SELECT job_id, true FROM slotted
)
UPDATE __SCHEMA__.jobs AS j
   SET status = 'running',
       attempts = j.attempts + 1,
       lease_token = ('x' || substr(md5(gen_random_uuid()::text), 1, 16))::bit(64)::bigint,
       lease_expires_at = clock_timestamp() + $2 * interval '1 millisecond',
       worker_id = $3,
       started_at = now(),
       expires_at = NULL,
       holds_slot = c.holds_slot
  FROM taken c
 WHERE j.id = c.id
RETURNING j.id, j.name, j.payload, j.schema_hash, j.attempts, j.max_retries, j.priority,
          j.run_at, j.created_at, j.lease_token, j.timeout_ms, j.trace_context,
          j.queue, j.concurrency_key,
          now() AS claimed_at
