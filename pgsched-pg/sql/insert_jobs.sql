-- schedule (Raise / Ignore): write new jobs; ids that exist are left alone. One statement per
-- batch, arrays in; only the ids that were NOT inserted come back (usually none), so a bulk
-- insert does not ship every id back. expires_at is NULL when the grace is NULL.
WITH input AS (
    SELECT *
      FROM unnest($1::text[], $2::text[], $3::bytea[], $4::int8[], $5::timestamptz[],
                  $6::int2[], $7::int4[], $8::int8[], $9::int8[], $10::text[])
           AS d(id, name, payload, schema_hash, run_at, priority, max_retries, misfire_grace_ms, timeout_ms, exclusive_key)
), inserted AS (
    INSERT INTO __SCHEMA__.jobs
           (id, name, payload, schema_hash, run_at, priority, max_retries,
            misfire_grace_ms, expires_at, timeout_ms, exclusive_key, status)
    SELECT id, name, payload, schema_hash, coalesce(run_at, now()), priority, max_retries,
           misfire_grace_ms, coalesce(run_at, now()) + misfire_grace_ms * interval '1 millisecond',
           timeout_ms, exclusive_key, __SCHEMA__.waiting_status(coalesce(run_at, now()), misfire_grace_ms)
      FROM input
        ON CONFLICT (id) DO NOTHING
    RETURNING id
)
SELECT id FROM input WHERE id NOT IN (SELECT id FROM inserted)
