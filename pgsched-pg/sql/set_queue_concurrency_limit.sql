-- Sets queue $1's cluster-wide concurrency limit to $2 (NULL lifts it). Jobs running when a
-- limit is set or lowered keep running; new claims wait until fewer than $2 hold a slot.
INSERT INTO __SCHEMA__.queues AS q (name, concurrency_limit)
VALUES ($1, $2)
ON CONFLICT (name) DO UPDATE
   SET concurrency_limit = excluded.concurrency_limit,
       updated_at = now()
