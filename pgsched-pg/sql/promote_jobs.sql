-- promote: scheduled jobs whose due time has come, by the database clock, become pending
-- (claimable), at most $1 rows from each of two probes; SKIP LOCKED lets every worker run
-- this at once. Neither probe walks over jobs due later (see migrations 0006 and 0008):
--   * jobs that never expire: jobs_scheduled from its front (oldest due time) to now();
--   * jobs that can expire: jobs_scheduled_expiring_due, by due time, from its front to now(),
--     keeping those still in their window (expires_at >= now()). Jobs already past their
--     grace sit among the due ones until the misfire sweep expires them; the index carries
--     the expiry, so they are rejected inside the index, never fetched from the heap.
-- Each probe starts at its floor ($3/$4 and $5/$6: due time and id; NULL: the front): after
-- the last job the previous pass promoted there, while passes come back full (see
-- PromotionFloor in pgsched-core), so the dead entries promoted jobs leave behind are not
-- stepped over again when a long transaction elsewhere keeps VACUUM from removing them.
-- The keys of the last job each probe promoted come back for that purpose.
-- Promoted rows keep their run_at and created_at, so the claim orders them by due time and
-- insertion order among jobs written pending.
-- Returns how many were promoted and the milliseconds until the next scheduled job is due
-- (NULL: none), from the leading run_at of both indexes (seeks past now()).
-- When it promoted any it wakes the listening workers ($2, the channel; NULL: nobody
-- listens), once.
WITH lasting AS (
    SELECT id
      FROM __SCHEMA__.jobs
     WHERE status = 'scheduled'
       AND expires_at IS NULL
       AND run_at <= now()
       AND (run_at, id) >= (coalesce($3::timestamptz, '-infinity'), coalesce($4, ''))
     ORDER BY run_at, id
     LIMIT $1
       FOR UPDATE SKIP LOCKED
), expiring AS (
    SELECT id
      FROM __SCHEMA__.jobs
     WHERE status = 'scheduled'
       AND expires_at IS NOT NULL
       AND run_at <= now()
       AND (run_at, id) >= (coalesce($5::timestamptz, '-infinity'), coalesce($6, ''))
       AND expires_at >= now()
     ORDER BY run_at, id
     LIMIT $1
       FOR UPDATE SKIP LOCKED
), due AS (
    SELECT id FROM lasting UNION ALL SELECT id FROM expiring
), promoted AS (
    UPDATE __SCHEMA__.jobs AS j
       SET status = 'pending'
      FROM due
     WHERE j.id = due.id
    RETURNING j.id, j.run_at, j.expires_at
), counted AS (
    SELECT count(*) AS promoted FROM promoted
), woken AS (
    SELECT pg_notify($2, '') FROM counted WHERE promoted > 0 AND $2::text IS NOT NULL
)
SELECT c.promoted,
       last_lasting.run_at AS lasting_run_at, last_lasting.id AS lasting_id,
       last_expiring.run_at AS expiring_run_at, last_expiring.id AS expiring_id,
       -- Both minima are after now(), so the difference is positive (NULL: none waiting).
       ceil(extract(epoch FROM (least(
           (SELECT min(run_at) FROM __SCHEMA__.jobs
             WHERE status = 'scheduled' AND expires_at IS NULL AND run_at > now()),
           (SELECT min(run_at) FROM __SCHEMA__.jobs
             WHERE status = 'scheduled' AND expires_at IS NOT NULL AND run_at > now()))
       - now())) * 1000)::bigint AS next_due_ms,
       (SELECT count(*) FROM woken) AS notified
  FROM counted AS c
  LEFT JOIN (SELECT run_at, id FROM promoted WHERE expires_at IS NULL
              ORDER BY run_at DESC, id DESC LIMIT 1) AS last_lasting ON true
  LEFT JOIN (SELECT run_at, id FROM promoted WHERE expires_at IS NOT NULL
              ORDER BY run_at DESC, id DESC LIMIT 1) AS last_expiring ON true
