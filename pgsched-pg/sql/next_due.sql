-- Milliseconds until the earliest claimable pending job is due, by the database clock (NULL:
-- none). Pending jobs are all due (jobs due later wait as `scheduled` and the promoter wakes
-- the claim loop for them), so this is zero or less whenever one is claimable; the caller
-- reads a negative value as zero. (Not `greatest(0, …)`: it ignores a NULL and would turn
-- "no pending job" into "one is due now", making an idle worker claim every few
-- milliseconds instead of waiting for its poll interval.) One probe of jobs_claim_order per
-- priority level; jobs past their misfire grace are not claimable and are skipped.
SELECT ceil(extract(epoch FROM (min(first_due) - now())) * 1000)::bigint
  FROM (SELECT (SELECT min(run_at) FROM __SCHEMA__.jobs
                 WHERE status = 'pending' AND priority = level
                   AND (expires_at IS NULL OR expires_at >= now())) AS first_due
          FROM unnest('{1,3,5,8}'::int2[]) AS level) AS levels
