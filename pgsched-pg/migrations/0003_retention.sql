-- pgsched schema, version 3: retention ("vacuum").

-- Retention deletes finished jobs by status and finish time, in bounded batches, from this
-- partial index: pending and running jobs are not in it, so the claim path is untouched.
CREATE INDEX jobs_finished ON jobs (status, finished_at)
    WHERE status IN ('completed', 'failed', 'cancelled', 'expired');

-- Co-ordinates replicas: a pass runs only when it wins a compare-and-set on last_run_at, so
-- at most one pass per interval runs across all replicas.
CREATE TABLE vacuum_state (
    singleton   boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    last_run_at timestamptz,
    last_worker text
);
INSERT INTO vacuum_state DEFAULT VALUES;

-- Per-day statistics (UTC days), kept when `track_metrics` is on.
CREATE TABLE vacuum_stats (
    stat_date         date        PRIMARY KEY,
    deleted_completed bigint      NOT NULL DEFAULT 0,
    deleted_failed    bigint      NOT NULL DEFAULT 0,
    deleted_cancelled bigint      NOT NULL DEFAULT 0,
    deleted_expired   bigint      NOT NULL DEFAULT 0,
    runs              integer     NOT NULL DEFAULT 0,
    last_run          timestamptz NOT NULL,
    last_worker       text        NOT NULL
);
