-- schedule (Replace): write new jobs and rewrite existing ones as new waiting jobs, unless
-- they are running: a running attempt is never disturbed (no row comes back for it, and the
-- caller reports it). `xmax = 0` tells an insert from an update.
INSERT INTO __SCHEMA__.jobs AS j
       (id, name, payload, schema_hash, run_at, priority, max_retries,
        misfire_grace_ms, expires_at, timeout_ms, exclusive_key, status)
SELECT d.id, d.name, d.payload, d.schema_hash, coalesce(d.run_at, now()), d.priority, d.max_retries,
       d.misfire_grace_ms, coalesce(d.run_at, now()) + d.misfire_grace_ms * interval '1 millisecond',
       d.timeout_ms, d.exclusive_key, __SCHEMA__.waiting_status(coalesce(d.run_at, now()), d.misfire_grace_ms)
  FROM unnest($1::text[], $2::text[], $3::bytea[], $4::int8[], $5::timestamptz[],
              $6::int2[], $7::int4[], $8::int8[], $9::int8[], $10::text[])
       AS d(id, name, payload, schema_hash, run_at, priority, max_retries, misfire_grace_ms, timeout_ms, exclusive_key)
    ON CONFLICT (id) DO UPDATE
   SET name = excluded.name, payload = excluded.payload, schema_hash = excluded.schema_hash,
       run_at = excluded.run_at, priority = excluded.priority, max_retries = excluded.max_retries,
       misfire_grace_ms = excluded.misfire_grace_ms, expires_at = excluded.expires_at,
       timeout_ms = excluded.timeout_ms, exclusive_key = excluded.exclusive_key,
       status = excluded.status, attempts = 0, lease_token = NULL, lease_expires_at = NULL,
       worker_id = NULL, last_error = NULL, started_at = NULL, finished_at = NULL
 WHERE j.status <> 'running'
RETURNING id, (xmax = 0) AS inserted
