-- claim: for worker $11, with a lease of $10 ms, take due jobs from each queue of $1: up to
-- $2 of it (the worker's free slots for that queue), most urgent first, within the queue's
-- limits (see "Flow control" below). One statement claims for every queue a worker serves, so
-- a worker that serves four queues claims as many jobs per statement as one that serves one;
-- each queue is claimed by its own lateral subquery (`per_queue`), exactly as if alone, and
-- only the writes (rate slots, running slots, the jobs) are shared. Jobs without a concurrency
-- key are read from the partial index jobs_claim_order in (queue, priority, run_at,
-- created_at, id) order: priority, then due time, then insertion order (migration 0006),
-- one priority level (most urgent first) after the other, each level's probe pulled
-- only as far as the outer LIMIT needs (a nested loop: nothing is locked that is not taken).
-- It skips rows other workers are claiming right now (SKIP LOCKED), so workers never wait on
-- each other and never take the same row. Due times and misfires use the database clock.
--
-- Each level's probe seeks to its floor ($7 due time, $8 insertion time, $9 id; NULL: the
-- front; $5 says which queue of $1 the level belongs to, $6 its priority):
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
-- (Each queue's take has one job per exclusive key; `chosen` keeps one over all queues.)
-- Flow control (migration 0010): nothing is claimed from a paused queue. A queue with a
-- concurrency limit, and a job with a concurrency key, need a free numbered slot in
-- running_slots: this statement counts the free ones from its snapshot to size its take, then
-- inserts the slots with ON CONFLICT DO NOTHING (each claim looking for them from its own place
-- round the queue's slots, $4). Those unique indexes are what make the
-- limits exact: a slot that another claim took after this snapshot is a conflict, and its job
-- is simply not claimed this time (it stays pending, for the next claim); a slot freed after
-- this snapshot is not seen, which only errs on the safe side. Slots are freed by a trigger in
-- the same transaction that moves their job out of `running` (recovery included), and the
-- trigger wakes the workers.
--
-- Keyed jobs are found by walking the queue's distinct keys (jobs_claim_keyed, one index seek
-- per key) from $3, the key after which this worker's last claim stopped, round-robin: a key
-- with ten thousand jobs is one step of the walk like a key with one, so it never starves
-- the others of the slots they may use. Each key contributes its first jobs in claim order,
-- as many as its free slots. Within what the limits allow, the take is in claim order.
--
-- Passing a slot on ($12 ids, $13 lease tokens, $14 which queue of $1): the worker's jobs of a
-- limited queue that have ended but whose outcomes are not written yet (it writes them once
-- this claim has answered). Each one that still holds its lease and a slot of its queue (and
-- none of a key's) is locked, SKIP LOCKED (an outcome or a recovery writing it now frees the
-- slot itself); its slot goes, in this transaction, to an unkeyed job this claim takes: the
-- slot's row names the new holder, so the ended job's outcome frees nothing (migration 0019).
-- A slot at or above the queue's limit (a limit lowered since) is not passed on. Without this, a
-- queue whose limit is the workers' slots waited for every outcome to be written, and for its
-- notification, before a claim could take the slot again: two round trips per job.
--
-- A queue with a rate limit of N per period has N rows in rate_slots; each start takes one
-- whose free_at has passed and moves it one period ahead (exact: FOR UPDATE re-checks the
-- row's latest version). The take is cut to the rate slots taken.
--
-- A queue with a per-key rate limit of N per period (migration 0020) gives each of its keys
-- N rate slots in key_rate_slots, a slot without a row being free: a keyed job takes one of
-- its key's free slots as it takes one of its key's running slots, found from this snapshot,
-- and writes it one period ahead with INSERT ... ON CONFLICT DO UPDATE WHERE it is free again.
-- A slot another claim took after this snapshot is a conflict whose row is not free: the
-- write is skipped and its job left pending, as for a running slot.
WITH passing AS MATERIALIZED (
    -- The slots passed on to this claim (see "Passing a slot on"), each with its queue's place
    -- in $1. (The lease token alone says the job is running, as in finish_jobs.sql: naming
    -- the status would lead the planner to walk the churning index of running jobs, instead
    -- of looking each job up by its key.)
    SELECT p.ordinal, r.job_id, r.queue, r.queue_slot, r.ctid AS slot_row
      FROM unnest($12::text[], $13::int8[], $14::int4[]) AS p(id, token, ordinal)
      JOIN __SCHEMA__.running_slots AS r ON r.job_id = p.id
      JOIN __SCHEMA__.jobs AS j ON j.id = p.id AND j.lease_token = p.token
     WHERE j.holds_slot AND r.queue_slot IS NOT NULL AND r.key_slot IS NULL
       FOR UPDATE OF j SKIP LOCKED
), served AS (
    -- The queues claimed from, in the order of $1, each with the most this claim takes from it.
    SELECT s.ordinal, s.queue, s.wanted, s.after_key, s.slot_start
      FROM unnest($1::text[], $2::int4[], $3::text[], $4::int4[])
           WITH ORDINALITY AS s(queue, wanted, after_key, slot_start, ordinal)
), per_queue AS (
    -- Each queue's take (as if it were claimed alone), with what the writes below need.
    SELECT served.queue, taken.*
      FROM served
     CROSS JOIN LATERAL (
    WITH RECURSIVE settings AS (
        -- One row always (an aggregate): the queue's settings, or none when it has no row.
        -- (A queue has a rate period exactly when it has a rate limit.)
        SELECT coalesce(bool_or(q.paused), false) AS paused,
               min(q.concurrency_limit) AS queue_limit,
               min(q.rate_period_ms) AS rate_period_ms,
               min(q.key_rate_limit) AS key_rate_limit,
               min(q.key_rate_period_ms) AS key_rate_period_ms
          FROM __SCHEMA__.queues AS q
         WHERE q.name = served.queue
    ), passed AS (
        -- The queue's slots passed on to this claim, within its limit, lowest first.
        SELECT array(SELECT passing.queue_slot
                       FROM passing, settings
                      WHERE passing.ordinal = served.ordinal
                        AND passing.queue = served.queue
                        AND passing.queue_slot < settings.queue_limit
                      ORDER BY passing.queue_slot
                      LIMIT served.wanted) AS slots
    ), queue_free AS (
        -- The slots passed on, then the queue's first free slots, as many as wanted in all
        -- (empty without a limit), round the
        -- ring from this claim's own start (in 65,536ths of the limit: see
        -- ClaimFloor::slot_start), so that claims in flight at once take different free slots
        -- instead of racing for the lowest. The ring is walked lazily: it stops at the last
        -- free slot wanted, so a claim probes the slots taken before it, never the whole limit
        -- unless the queue is full.
        SELECT passed.slots || array(SELECT ring.s
                       FROM settings,
                            LATERAL (SELECT (served.slot_start::int8 * settings.queue_limit
                                             / 65536)::int4 AS at) AS start,
                            LATERAL (SELECT generate_series(start.at, settings.queue_limit - 1)
                                     UNION ALL
                                     SELECT generate_series(0, start.at - 1)) AS ring(s)
                      WHERE settings.queue_limit IS NOT NULL
                        AND NOT EXISTS (SELECT 1 FROM __SCHEMA__.running_slots AS r
                                         WHERE r.queue = served.queue AND r.queue_slot = ring.s)
                      LIMIT served.wanted - cardinality(passed.slots)) AS slots
          FROM passed
    ), room AS (
        -- How many this claim may take from the queue.
        SELECT CASE WHEN settings.paused THEN 0
                    WHEN settings.queue_limit IS NULL THEN served.wanted
                    ELSE least(served.wanted, cardinality(queue_free.slots)) END AS n
          FROM settings, queue_free
    ), keys AS (
        -- The queue's keys with due jobs, in key order from after its walk's start (a skip
        -- scan: one index seek per key). The seek lands on the key's first job in claim
        -- order (jobs_claim_keyed is in that order within a key), and the key's limit is the
        -- one that job carries.
        (SELECT k.concurrency_key AS key, coalesce(k.concurrency_limit, 1) AS key_limit
           FROM __SCHEMA__.jobs AS k
          WHERE k.status = 'pending' AND k.queue = served.queue
            AND k.concurrency_key IS NOT NULL
            AND k.concurrency_key > coalesce(served.after_key, '')
          ORDER BY k.concurrency_key, k.priority, k.run_at, k.created_at, k.id
          LIMIT 1)
        UNION ALL
        SELECT next.key, next.key_limit
          FROM keys
         CROSS JOIN LATERAL (
               SELECT k.concurrency_key AS key, coalesce(k.concurrency_limit, 1) AS key_limit
                 FROM __SCHEMA__.jobs AS k
                WHERE k.status = 'pending' AND k.queue = served.queue
                  AND k.concurrency_key IS NOT NULL
                  AND k.concurrency_key > keys.key
                ORDER BY k.concurrency_key, k.priority, k.run_at, k.created_at, k.id
                LIMIT 1) AS next
    ), keyed AS (
        -- Each key's first jobs, as many as its free slots (and free rate slots), from a
        -- bounded part of the walk.
        SELECT c.id, c.exclusive_key, c.priority, c.run_at, c.created_at, c.concurrency_key,
               key_free.slots[c.rank] AS key_slot, rate_free.slots[c.rank] AS key_rate_slot
          FROM (SELECT key, key_limit FROM keys
                 LIMIT CASE WHEN (SELECT n FROM room) = 0 THEN 0
                            ELSE 4 * served.wanted + 16 END) AS walked
         CROSS JOIN settings
         CROSS JOIN LATERAL (
               -- The key's free rate slots in this queue, lowest first, at most as many as the
               -- claim takes (NULL without a per-key rate). A key whose slots are all taken
               -- costs one range read of its rows, not a probe of each slot.
               SELECT CASE
                      WHEN settings.key_rate_limit IS NULL THEN NULL
                      WHEN (SELECT count(*) FROM __SCHEMA__.key_rate_slots AS r
                             WHERE r.queue = served.queue AND r.concurrency_key = walked.key
                               AND r.slot < settings.key_rate_limit AND r.free_at > now())
                           >= settings.key_rate_limit THEN '{}'::int4[]
                      ELSE array(SELECT s
                                   FROM generate_series(0, settings.key_rate_limit - 1) AS s
                                  WHERE NOT EXISTS (
                                        SELECT 1 FROM __SCHEMA__.key_rate_slots AS r
                                         WHERE r.queue = served.queue
                                           AND r.concurrency_key = walked.key
                                           AND r.slot = s AND r.free_at > now())
                                  LIMIT served.wanted)
                      END AS slots) AS rate_free
         CROSS JOIN LATERAL (
               -- The key's first free slots, lowest first, at most as many as the claim takes.
               SELECT array(SELECT s
                              FROM generate_series(0, walked.key_limit - 1) AS s
                             WHERE NOT EXISTS (SELECT 1 FROM __SCHEMA__.running_slots AS r
                                                WHERE r.concurrency_key = walked.key
                                                  AND r.key_slot = s)
                             LIMIT served.wanted) AS slots) AS key_free
         CROSS JOIN LATERAL (
               SELECT p.id, p.exclusive_key, p.priority, p.run_at, p.created_at,
                      p.concurrency_key,
                      row_number() OVER (ORDER BY p.priority, p.run_at, p.created_at, p.id)
                          AS rank
                 FROM (SELECT id, exclusive_key, priority, run_at, created_at, concurrency_key
                         FROM __SCHEMA__.jobs AS p
                        WHERE p.status = 'pending' AND p.queue = served.queue
                          AND p.concurrency_key = walked.key
                          AND p.run_at <= now()
                          AND (p.expires_at IS NULL OR p.expires_at >= now())
                        ORDER BY p.priority, p.run_at, p.created_at, p.id
                        LIMIT least(cardinality(key_free.slots),
                                    coalesce(cardinality(rate_free.slots),
                                             cardinality(key_free.slots)))
                          FOR UPDATE SKIP LOCKED) AS p) AS c
         -- The walk stops once it has found as many jobs as the claim may take: keys further
         -- on are neither read nor locked.
         LIMIT (SELECT n FROM room)
    ), unkeyed AS (
        SELECT c.id, c.exclusive_key, c.priority, c.run_at, c.created_at,
               NULL::text AS concurrency_key, NULL::int4 AS key_slot, NULL::int4 AS key_rate_slot
          FROM unnest($5::int4[], $6::int2[], $7::timestamptz[], $8::timestamptz[], $9::text[])
               AS level(ordinal, priority, floor_run_at, floor_created_at, floor_id)
         CROSS JOIN LATERAL (
               SELECT id, exclusive_key, priority, run_at, created_at
                 FROM __SCHEMA__.jobs AS pending
                WHERE status = 'pending'
                  AND queue = served.queue
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
         WHERE level.ordinal = served.ordinal
         LIMIT (SELECT n FROM room)
    ), candidates AS (
        SELECT * FROM unkeyed
        UNION ALL
        SELECT * FROM keyed
    )
    -- The queue's take, in claim order: at most one job per exclusive key, at most `room`.
    SELECT served.ordinal, cardinality(passed.slots) AS passed_slots, ranked.id, ranked.exclusive_key, ranked.priority, ranked.run_at, ranked.created_at,
           ranked.concurrency_key, ranked.key_slot, ranked.key_rate_slot,
           queue_free.slots AS queue_slots,
           (settings.queue_limit IS NOT NULL OR ranked.concurrency_key IS NOT NULL)
               AS needs_slot,
           settings.rate_period_ms, settings.key_rate_period_ms
      FROM (SELECT *,
                   row_number() OVER (PARTITION BY exclusive_key
                                      ORDER BY priority, run_at, created_at, id) AS rank
              FROM candidates) AS ranked, settings, passed, queue_free
     WHERE ranked.exclusive_key IS NULL OR ranked.rank = 1
     ORDER BY ranked.priority, ranked.run_at, ranked.created_at, ranked.id
     LIMIT (SELECT n FROM room)
    ) AS taken
), chosen AS (
    -- The takes of all queues, at most one job per exclusive key over them all, each job
    -- numbered (`place`) in its queue's claim order: its queue slot is queue_slots[place].
    SELECT *,
           row_number() OVER (PARTITION BY queue ORDER BY priority, run_at, created_at, id)
               AS place
      FROM (SELECT *,
                   row_number() OVER (PARTITION BY exclusive_key
                                      ORDER BY priority, run_at, created_at, id) AS rank
              FROM per_queue) AS ranked
     WHERE exclusive_key IS NULL OR rank = 1
), rate_wanted AS (
    -- Rate slots wanted per rate-limited queue: one per job of its take.
    SELECT queue, count(*) AS n, min(rate_period_ms) AS period_ms
      FROM chosen
     WHERE rate_period_ms IS NOT NULL
     GROUP BY queue
), rate_taken AS (
    -- The rate slots taken (no rows without a rate limit).
    UPDATE __SCHEMA__.rate_slots AS rs
       SET free_at = now() + free.period_ms * interval '1 millisecond'
      FROM (SELECT wanted.queue, wanted.period_ms, f.slot
              FROM rate_wanted AS wanted
             CROSS JOIN LATERAL (
                   SELECT slot
                     FROM __SCHEMA__.rate_slots AS r
                    WHERE r.queue = wanted.queue AND r.free_at <= now()
                    ORDER BY r.slot
                    LIMIT wanted.n
                      FOR UPDATE SKIP LOCKED) AS f) AS free
     WHERE rs.queue = free.queue AND rs.slot = free.slot AND rs.free_at <= now()
    RETURNING rs.queue
), key_rate_taken AS (
    -- The keys' rate slots taken (see "per-key rate limit" above), in slot order, so that
    -- claims racing for the same slots wait on each other in the same order. (A key is walked
    -- once per queue, so no slot is written twice; DISTINCT ON makes sure.)
    INSERT INTO __SCHEMA__.key_rate_slots AS k (queue, concurrency_key, slot, free_at, job_id)
    SELECT DISTINCT ON (chosen.queue, chosen.concurrency_key, chosen.key_rate_slot)
           chosen.queue, chosen.concurrency_key, chosen.key_rate_slot,
           now() + chosen.key_rate_period_ms * interval '1 millisecond', chosen.id
      FROM chosen
     WHERE chosen.key_rate_slot IS NOT NULL
     ORDER BY chosen.queue, chosen.concurrency_key, chosen.key_rate_slot
    ON CONFLICT (queue, concurrency_key, slot) DO UPDATE
       SET free_at = excluded.free_at, job_id = excluded.job_id
     WHERE k.free_at <= now()
    RETURNING k.job_id
), started AS (
    -- Each take cut to the rate slots its queue took, and its keyed jobs to the rate slots
    -- their keys took.
    SELECT chosen.*
      FROM chosen
     WHERE (chosen.rate_period_ms IS NULL
            OR chosen.place <= (SELECT count(*) FROM rate_taken
                                 WHERE rate_taken.queue = chosen.queue))
       AND (chosen.key_rate_slot IS NULL
            OR chosen.id IN (SELECT job_id FROM key_rate_taken))
), handing AS (
    -- Slots passed on, each to the unkeyed job of its place (the first places of each queue's
    -- take are the passed slots': see queue_free). A keyed job in such a place is left to
    -- `slotted`, where the slot is a conflict: it stays pending, and the slot with its holder.
    SELECT started.id, passing.job_id AS passed_by, passing.slot_row
      FROM started
      JOIN passing ON passing.ordinal = started.ordinal
                  AND passing.queue_slot = started.queue_slots[started.place]
     WHERE started.needs_slot AND started.concurrency_key IS NULL
       AND started.place <= started.passed_slots
), handed AS (
    -- Each slot moves to its new holder. Its row is the one `passing` read (the holder is
    -- locked: nobody else can move or delete it), found by its place in the table, not by a
    -- join the planner may run as a scan of this churning table.
    UPDATE __SCHEMA__.running_slots AS r
       SET job_id = handing.id
      FROM handing
     WHERE r.ctid = handing.slot_row AND r.job_id = handing.passed_by
    RETURNING r.job_id
), slotted AS (
    -- The slots of the jobs that need them; a slot another claim took meanwhile is a conflict,
    -- and its job is left pending. Written in slot order, so that two claims racing for the
    -- same slots wait on each other in the same order.
    INSERT INTO __SCHEMA__.running_slots (job_id, queue, queue_slot, concurrency_key, key_slot)
    SELECT started.id, started.queue, started.queue_slots[started.place],
           started.concurrency_key, started.key_slot
      FROM started
     WHERE started.needs_slot
       AND started.id NOT IN (SELECT id FROM handing)
     ORDER BY started.queue, started.queue_slots[started.place], started.concurrency_key,
              started.key_slot
    ON CONFLICT DO NOTHING
    RETURNING job_id
), taken AS (
    SELECT id, false AS holds_slot FROM started WHERE NOT needs_slot
    UNION ALL
    SELECT job_id, true FROM slotted
    UNION ALL
    SELECT job_id, true FROM handed
)
UPDATE __SCHEMA__.jobs AS j
   SET status = 'running',
       attempts = j.attempts + 1,
       lease_token = ('x' || substr(md5(gen_random_uuid()::text), 1, 16))::bit(64)::bigint,
       lease_expires_at = clock_timestamp() + $10 * interval '1 millisecond',
       worker_id = $11,
       started_at = now(),
       expires_at = NULL,
       holds_slot = c.holds_slot
  FROM taken c
 WHERE j.id = c.id
RETURNING j.id, j.name, j.payload, j.schema_hash, j.attempts, j.max_retries, j.priority,
          j.run_at, j.created_at, j.lease_token, j.timeout_ms, j.trace_context,
          j.queue, j.concurrency_key,
          j.holds_slot AND j.concurrency_key IS NULL AS passes_slot,
          now() AS claimed_at
