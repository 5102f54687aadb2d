-- promote: scheduled jobs whose due time has come, by the database clock, become pending
-- (claimable), at most $1 rows from each of two probes; SKIP LOCKED lets every worker run
-- this at once. Neither probe walks over rows it must not take (see migration 0006):
--   * jobs that never expire: jobs_scheduled from its front (oldest due time) to now();
--   * jobs that can expire: jobs_scheduled_expiring from now() upwards (their window is still
--     open), stopping at $1 due ones. Jobs past their grace sit before now() in that index,
--     never read here: the misfire sweep expires them. (Jobs due later but expiring sooner
--     than a due job are read and left; only jobs with a shorter grace can be there.)
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
     ORDER BY run_at
     LIMIT $1
       FOR UPDATE SKIP LOCKED
), expiring AS (
    SELECT id
      FROM __SCHEMA__.jobs
     WHERE status = 'scheduled'
       AND expires_at IS NOT NULL
       AND expires_at >= now()
       AND run_at <= now()
     ORDER BY expires_at
     LIMIT $1
       FOR UPDATE SKIP LOCKED
), due AS (
    SELECT id FROM lasting UNION ALL SELECT id FROM expiring
), promoted AS (
    UPDATE __SCHEMA__.jobs AS j
       SET status = 'pending'
      FROM due
     WHERE j.id = due.id
    RETURNING j.id
), counted AS (
    SELECT count(*) AS promoted FROM promoted
), woken AS (
    SELECT pg_notify($2, '') FROM counted WHERE promoted > 0 AND $2::text IS NOT NULL
)
SELECT c.promoted,
       -- Both minima are after now(), so the difference is positive (NULL: none waiting).
       ceil(extract(epoch FROM (least(
           (SELECT min(run_at) FROM __SCHEMA__.jobs
             WHERE status = 'scheduled' AND expires_at IS NULL AND run_at > now()),
           (SELECT min(run_at) FROM __SCHEMA__.jobs
             WHERE status = 'scheduled' AND expires_at IS NOT NULL AND run_at > now()))
       - now())) * 1000)::bigint AS next_due_ms,
       (SELECT count(*) FROM woken) AS notified
  FROM counted AS c
