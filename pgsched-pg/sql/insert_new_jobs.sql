-- schedule jobs whose ids were generated for them (UUIDv7): no other job can have those ids,
-- so they are inserted without ON CONFLICT's per-row speculative check and nothing comes back.
INSERT INTO __SCHEMA__.jobs
       (id, name, payload, schema_hash, run_at, priority, max_retries,
        misfire_grace_ms, expires_at, timeout_ms, exclusive_key, status)
SELECT d.id, d.name, d.payload, d.schema_hash, coalesce(d.run_at, now()), d.priority, d.max_retries,
       d.misfire_grace_ms, coalesce(d.run_at, now()) + d.misfire_grace_ms * interval '1 millisecond',
       d.timeout_ms, d.exclusive_key, __SCHEMA__.waiting_status(coalesce(d.run_at, now()), d.misfire_grace_ms)
  FROM unnest($1::text[], $2::text[], $3::bytea[], $4::int8[], $5::timestamptz[],
              $6::int2[], $7::int4[], $8::int8[], $9::int8[], $10::text[])
       AS d(id, name, payload, schema_hash, run_at, priority, max_retries, misfire_grace_ms, timeout_ms, exclusive_key)
