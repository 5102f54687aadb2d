-- schedule (Raise / Ignore): write new jobs; ids that exist are left alone and reported by
-- the caller (kept, or a conflict). One statement per batch, arrays in.
-- expires_at is NULL when the grace is NULL (NULL * interval).
INSERT INTO __SCHEMA__.jobs
       (id, name, payload, schema_hash, run_at, priority, max_retries,
        misfire_grace_ms, expires_at, timeout_ms)
SELECT d.id, d.name, d.payload, d.schema_hash, coalesce(d.run_at, now()), d.priority, d.max_retries,
       d.misfire_grace_ms, coalesce(d.run_at, now()) + d.misfire_grace_ms * interval '1 millisecond',
       d.timeout_ms
  FROM unnest($1::text[], $2::text[], $3::bytea[], $4::int8[], $5::timestamptz[],
              $6::int2[], $7::int4[], $8::int8[], $9::int8[])
       AS d(id, name, payload, schema_hash, run_at, priority, max_retries, misfire_grace_ms, timeout_ms)
    ON CONFLICT (id) DO NOTHING
RETURNING id
