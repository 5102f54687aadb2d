-- Milliseconds until the earliest claimable pending job of any of the queues $1 is due, by
-- the database clock (NULL: none). One statement for all the queues a worker waits on, so an
-- idle worker serving many queues sends one probe per wait, not one per queue.
--
-- Pending jobs are all due (jobs due later wait as `scheduled` and the promoter wakes the
-- claim loop for them), so this is zero or less whenever one is claimable; the caller reads a
-- negative value as zero. A queue with nothing claimable gives NULL, which `min` passes over;
-- no `greatest(0, ...)` and no `coalesce`: either would turn "no pending job" into "one is
-- due now", making an idle worker claim every few milliseconds instead of waiting for its
-- poll interval. One probe of jobs_claim_order per queue and priority level; jobs past their
-- misfire grace are not claimable and are skipped.
--
-- Flow control (migrations 0010, 0020): nothing is claimable in a paused queue, nor in one
-- whose concurrency limit is reached (freeing a slot notifies the workers). In a rate-limited
-- queue, pending jobs wait for its first rate slot to be free again, and keyed jobs of a queue
-- with a per-key rate for the first of its keys' rate slots to be free again: those are the
-- waits no notification ends. Otherwise keyed jobs are not probed: a claim that came back
-- short left only keys at their limit, and freeing a key's slot, like writing a new keyed
-- job, notifies the workers. A queue with no pending job has nothing due, whatever its rate
-- slots say (their free times lie in the past once used: reading one as "due now" made an
-- idle worker claim every few milliseconds).
SELECT min(ceil(extract(epoch FROM (each_queue.due_at - now())) * 1000)::bigint)
  FROM unnest($1::text[]) AS waited(queue)
 CROSS JOIN LATERAL (
       SELECT CASE WHEN settings.paused
                     OR (settings.queue_limit IS NOT NULL
                         AND settings.queue_limit <= (SELECT count(*)
                                                        FROM __SCHEMA__.running_slots AS r
                                                       WHERE r.queue = waited.queue
                                                         AND r.queue_slot IS NOT NULL))
                   THEN NULL
                   WHEN levels.first_due IS NOT NULL
                   THEN greatest(levels.first_due, rate.first_free)
                   WHEN NOT EXISTS (SELECT 1 FROM __SCHEMA__.jobs AS k
                                     WHERE k.status = 'pending' AND k.queue = waited.queue
                                       AND k.concurrency_key IS NOT NULL)
                   THEN NULL
                   WHEN rate.first_free > now()
                   THEN rate.first_free
                   WHEN settings.key_rate_limit IS NOT NULL
                   THEN (SELECT min(r.free_at) FROM __SCHEMA__.key_rate_slots AS r
                          WHERE r.free_at > now() AND r.queue = waited.queue)
              END AS due_at
         FROM (SELECT coalesce(bool_or(q.paused), false) AS paused,
                      min(q.concurrency_limit) AS queue_limit,
                      min(q.key_rate_limit) AS key_rate_limit
                 FROM __SCHEMA__.queues AS q
                WHERE q.name = waited.queue) AS settings,
              (SELECT min(first_due) AS first_due
                 FROM (SELECT (SELECT min(run_at) FROM __SCHEMA__.jobs
                                WHERE status = 'pending' AND queue = waited.queue
                                  AND concurrency_key IS NULL
                                  AND priority = level
                                  AND (expires_at IS NULL OR expires_at >= now())) AS first_due
                         FROM unnest('{1,3,5,8}'::int2[]) AS level) AS each_level) AS levels,
              (SELECT min(free_at) AS first_free
                 FROM __SCHEMA__.rate_slots
                WHERE queue = waited.queue) AS rate
       ) AS each_queue
