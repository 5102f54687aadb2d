-- cancel: a waiting (blocked, scheduled or pending) or running job becomes cancelled. Clearing the lease token makes the
-- running worker's next heartbeat find the lease gone, so it stops the attempt. Its
-- dependents follow their policy (the trigger of migration 0018).
UPDATE __SCHEMA__.jobs
   SET status = 'cancelled',
       finished_at = now(),
       lease_token = NULL,
       lease_expires_at = NULL
 WHERE id = $1
   AND status IN ('blocked', 'scheduled', 'pending', 'running')
RETURNING id
