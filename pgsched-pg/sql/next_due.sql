-- Milliseconds until the earliest claimable pending job of queue $1 is due, by the database
-- clock (NULL: none). Pending jobs are all due (jobs due later wait as `scheduled` and the
-- promoter wakes the claim loop for them), so this is zero or less whenever one is
-- claimable; the caller reads a negative value as zero. (Not `greatest(0, ...)`: it ignores a
-- NULL and would turn "no pending job" into "one is due now", making an idle worker claim
-- every few milliseconds instead of waiting for its poll interval.) One probe of
-- jobs_claim_order per priority level; jobs past their misfire grace are not claimable and
-- are skipped.
--
-- Flow control (migration 0010): nothing is claimable in a paused queue, nor in one whose
-- concurrency limit is reached (freeing a slot notifies the workers), and in a rate-limited
-- queue nothing before its first rate slot is free again. Keyed jobs are not probed: a
-- claim that came back short left only keys at their limit, and freeing a key's slot, like
-- writing a new keyed job, notifies the workers.
SELECT CASE WHEN settings.paused
                 OR (settings.queue_limit IS NOT NULL
                     AND settings.queue_limit <= (SELECT count(*)
                                                    FROM __SCHEMA__.running_slots AS r
                                                   WHERE r.queue = $1
                                                     AND r.queue_slot IS NOT NULL))
            THEN NULL
            ELSE ceil(extract(epoch FROM (greatest(levels.first_due, rate.first_free) - now()))
                      * 1000)::bigint
       END
  FROM (SELECT coalesce(bool_or(q.paused), false) AS paused,
               min(q.concurrency_limit) AS queue_limit
          FROM __SCHEMA__.queues AS q
         WHERE q.name = $1) AS settings,
       (SELECT min(first_due) AS first_due
          FROM (SELECT (SELECT min(run_at) FROM __SCHEMA__.jobs
                         WHERE status = 'pending' AND queue = $1 AND concurrency_key IS NULL
                           AND priority = level
                           AND (expires_at IS NULL OR expires_at >= now())) AS first_due
                  FROM unnest('{1,3,5,8}'::int2[]) AS level) AS each_level) AS levels,
       (SELECT min(free_at) AS first_free
          FROM __SCHEMA__.rate_slots
         WHERE queue = $1) AS rate
