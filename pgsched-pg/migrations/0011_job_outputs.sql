-- pgsched schema, version 11: a job keeps what it returned, and whoever waits for a job
-- hears when it ends.

-- The output a completed job returned: postcard bytes and the hash of its output type as
-- written in the job's signature (see pgsched-core's codec.rs). NULL for a job that returns
-- nothing, and for every job that did not complete. Written with the completion
-- (finish_jobs.sql), cleared when Replace rewrites the job (upsert_jobs.sql), deleted with
-- the row (retention). Nullable without a default: adding them rewrites nothing.
ALTER TABLE jobs ADD COLUMN output bytea;
ALTER TABLE jobs ADD COLUMN output_schema_hash bigint;

-- Whether someone waits for the job's end (a handle's wait, through await_job.sql). Only
-- such jobs notify when they end: completions nobody waits for cost no NOTIFY (a notifying
-- commit queues behind a cluster-wide lock, see pgsched-pg's notifier.rs). A constant
-- default: adding it rewrites nothing.
ALTER TABLE jobs ADD COLUMN awaited boolean NOT NULL DEFAULT false;

-- Tells the waiters of a job that it ended: a notification on `pgsched_done_<schema>` (the
-- Rust side's SchemaName::done_channel) carrying the job's id, delivered when the ending
-- transaction commits. A trigger, so that every statement that ends a job (finish, cancel,
-- misfire expiry, orphan recovery, and those to come) notifies without having to remember;
-- its WHEN clause is checked per updated row and queues nothing for jobs nobody awaits.
CREATE FUNCTION notify_awaited_end() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
        BEGIN
            PERFORM pg_notify('pgsched_done_' || TG_TABLE_SCHEMA, NEW.id);
            RETURN NULL;
        END
    $$;

CREATE TRIGGER jobs_awaited_end
    AFTER UPDATE OF status ON jobs
    FOR EACH ROW
    WHEN (NEW.awaited
          AND NEW.status IN ('completed', 'failed', 'cancelled', 'expired')
          AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION notify_awaited_end();
