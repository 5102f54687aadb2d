-- schedule one job whose id was generated for it (see insert_new_jobs.sql), with scalar
-- parameters.
INSERT INTO __SCHEMA__.jobs
       (id, name, payload, schema_hash, run_at, priority, max_retries,
        misfire_grace_ms, expires_at, timeout_ms, exclusive_key, status)
VALUES ($1, $2, $3, $4, coalesce($5, now()), $6, $7,
        $8, coalesce($5, now()) + $8 * interval '1 millisecond', $9, $10,
        __SCHEMA__.waiting_status(coalesce($5, now()), $8))
