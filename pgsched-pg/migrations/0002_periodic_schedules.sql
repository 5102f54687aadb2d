-- pgsched schema, version 2: periodic schedules, and the priority values the claim relies on.

-- One row per periodic schedule (dedup key). `last_window` is the latest window enqueued by
-- any replica: a compare-and-set on it, in the same statement as the job insert, is what
-- makes each window enqueue exactly once. Retention never touches this table, so deleting
-- finished runs cannot re-open their windows.
CREATE TABLE periodic_schedules (
    dedup_key   text        PRIMARY KEY,
    job_name    text        NOT NULL,
    schedule    text        NOT NULL,
    enabled     boolean     NOT NULL,
    last_window timestamptz,
    last_job_id text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Priorities are the four levels (1, 3, 5, 8): next_due probes each level's index range.
ALTER TABLE jobs ADD CONSTRAINT jobs_priority_level CHECK (priority IN (1, 3, 5, 8));
