-- finish: write many attempt outcomes at once. Each row is fenced by its lease token: a
-- worker that lost its lease (recovered, cancelled, replaced) changes nothing, and its token
-- is missing from the result. A lease token is set only while a job is running (every
-- statement that ends or undoes a claim clears it), so the token alone is the fence; not
-- naming status keeps the planner on primary-key lookups instead of walking the (churning)
-- partial index of running jobs.
-- status 'pending' is a retry: due again after delay_ms by the database clock (scheduled
-- until then, see waiting_status in migration 0006).
-- output and output_schema_hash are what a completed job returned (NULL for every other
-- outcome, and for a job that returns nothing: migration 0011); an awaited job's end
-- notifies its waiters through the trigger of that migration.
-- An attempt that ended with an error (a failure, a retry) appends it to attempt_errors,
-- keeping the last $8 (migration 0016); a completion (error NULL) leaves the column as it is,
-- so the hot path writes nothing more.
UPDATE __SCHEMA__.jobs AS j
   SET status = CASE WHEN d.status = 'pending'
                     THEN __SCHEMA__.waiting_status(now() + d.delay_ms * interval '1 millisecond', NULL)
                     ELSE d.status END,
       run_at = CASE WHEN d.status = 'pending'
                     THEN now() + d.delay_ms * interval '1 millisecond' ELSE j.run_at END,
       last_error = d.error,
       attempt_errors = CASE WHEN d.error IS NULL THEN j.attempt_errors
                             ELSE __SCHEMA__.attempt_errors_append(j.attempt_errors, j.attempts,
                                                                   d.error, $8) END,
       output = d.output,
       output_schema_hash = d.output_schema_hash,
       finished_at = CASE WHEN d.status = 'pending' THEN NULL ELSE now() END,
       lease_token = NULL,
       lease_expires_at = NULL
  FROM unnest($1::text[], $2::int8[], $3::text[], $4::int8[], $5::text[], $6::bytea[],
              $7::int8[])
       AS d(id, token, status, delay_ms, error, output, output_schema_hash)
 WHERE j.id = d.id
   AND j.lease_token = d.token
RETURNING d.token
