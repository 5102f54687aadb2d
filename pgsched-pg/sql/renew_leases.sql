-- heartbeat: extend every lease this worker still holds, in one statement. A token missing
-- from the result was lost (expired and recovered, or the job was cancelled). The token is
-- the fence (set only while running; see finish_jobs.sql), looked up by primary key.
-- Like the claim, the lease runs from clock_timestamp(): a renewal that waited extends the
-- lease from when it took effect; the worker counts from when it sent it.
UPDATE __SCHEMA__.jobs AS j
   SET lease_expires_at = clock_timestamp() + $3 * interval '1 millisecond'
  FROM unnest($1::text[], $2::int8[]) AS d(id, token)
 WHERE j.id = d.id
   AND j.lease_token = d.token
RETURNING d.token
