-- pgsched schema, version 1. Runs with search_path set to the configured schema, so every
-- name here is unqualified.

-- Lease tokens: one fresh value per claim. Every later write of a claimed job carries its
-- token, so a worker that lost its lease cannot change the row (fencing).
CREATE SEQUENCE lease_tokens AS bigint;

CREATE TABLE jobs (
    id               text        PRIMARY KEY,
    name             text        NOT NULL,
    status           text        NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled', 'expired')),
    priority         smallint    NOT NULL DEFAULT 5,
    run_at           timestamptz NOT NULL,
    payload          bytea       NOT NULL,
    schema_hash      bigint,
    attempts         integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_retries      integer     NOT NULL DEFAULT 0 CHECK (max_retries >= 0),
    -- NULL: never expires. expires_at = run_at + grace while the job has never started; a
    -- claim clears it, so retries and recovered jobs are never expired.
    misfire_grace_ms bigint      CHECK (misfire_grace_ms >= 0),
    expires_at       timestamptz,
    timeout_ms       bigint      CHECK (timeout_ms > 0),
    lease_token      bigint,
    lease_expires_at timestamptz,
    worker_id        text,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz
);

-- The claim: due pending jobs by priority, then due time. Partial, so finished history does
-- not slow it down.
CREATE INDEX jobs_claim_order ON jobs (priority, run_at) WHERE status = 'pending';
-- The misfire sweep: pending jobs that can expire, by expiry time.
CREATE INDEX jobs_misfire ON jobs (expires_at) WHERE status = 'pending' AND expires_at IS NOT NULL;
-- Orphan recovery: running jobs by lease expiry.
CREATE INDEX jobs_lease_expiry ON jobs (lease_expires_at) WHERE status = 'running';

-- Worker processes, kept fresh by their heartbeat.
CREATE TABLE workers (
    id           text        PRIMARY KEY,
    host         text        NOT NULL,
    pid          integer     NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now()
);

-- Wake workers when jobs are written. Statement-level, and PostgreSQL folds identical
-- notifications of one transaction into one, so a bulk insert sends a single NOTIFY, at commit.
CREATE FUNCTION notify_jobs_written() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('pgsched_jobs_' || TG_TABLE_SCHEMA, '');
    RETURN NULL;
END
$$;

CREATE TRIGGER jobs_written AFTER INSERT ON jobs
    FOR EACH STATEMENT EXECUTE FUNCTION notify_jobs_written();
