-- promote: scheduled jobs whose due time has come, by the database clock, become pending
-- (claimable), at most $1 rows from each of two probes; SKIP LOCKED lets every worker run
-- this at once. Neither probe walks over rows it must not take (see migration 0006):
--   * jobs that never expire: jobs_scheduled from its front (oldest due time) to now();
--   * jobs that can expire: jobs_scheduled_expiring from now() upwards (their window is still
--     open), stopping at $1 due ones. Jobs past their grace sit before now() in that index,
--     never read here: the misfire sweep expires them. (Jobs due later but expiring sooner
--     than a due job are read and left; only jobs with a shorter grace can be there.)
-- Each probe starts at its floor ($3/$4: due time and id; $5/$6: expiry and id; NULL: the
-- front): after the last job the previous pass promoted there, while passes come back full
-- (see PromotionFloor in pgsched-core), so the dead entries promoted jobs leave behind are
-- not stepped over again when a long transaction elsewhere keeps VACUUM from removing them.
-- The keys of the last job each probe promoted come back for that purpose.
-- Promoted rows keep their run_at and created_at, so the claim orders them by due time and
-- insertion order among jobs written pending.
-- Returns how many were promoted and the milliseconds until the next scheduled job is due
-- (NULL: none), from jobs_scheduled and jobs_scheduled_expiring_due (seeks past now()).
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
       -- Due, written as an expression: with stale statistics the planner could otherwise
       -- walk jobs_scheduled_expiring_due (by due time), reading every expired job first.
       AND (run_at + interval '0') <= now()
       -- Still in its window (expires_at >= now()), from the floor if that is later: one
       -- lower bound, so the index scan seeks straight to it.
       AND (expires_at, id) >= (CASE WHEN $5 > now() THEN $5 ELSE now() END,
                                CASE WHEN $5 > now() THEN $6 ELSE '' END)
     ORDER BY expires_at, id
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
       last_expiring.expires_at AS expiring_expires_at, last_expiring.id AS expiring_id,
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
  LEFT JOIN (SELECT expires_at, id FROM promoted WHERE expires_at IS NOT NULL
              ORDER BY expires_at DESC, id DESC LIMIT 1) AS last_expiring ON true
