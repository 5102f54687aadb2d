-- Milliseconds until the earliest claimable pending job is due, by the database clock (NULL:
-- none). One probe of jobs_claim_order per priority level, so it stays cheap with many
-- future jobs; jobs past their misfire grace are not claimable and are skipped.
SELECT greatest(0, ceil(extract(epoch FROM (min(first_due) - now())) * 1000))::bigint
  FROM (SELECT (SELECT min(run_at) FROM __SCHEMA__.jobs
                 WHERE status = 'pending' AND priority = level
                   AND (expires_at IS NULL OR expires_at >= now())) AS first_due
          FROM unnest('{1,3,5,8}'::int2[]) AS level) AS levels
