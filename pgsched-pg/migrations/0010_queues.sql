-- pgsched schema, version 10: named queues, and flow control across every worker: a queue's
-- global concurrency limit, per-key concurrency limits, a queue's rate limit, and pausing.

-- Every job belongs to a queue (`default` unless it says otherwise). A job may carry a
-- concurrency key and the most of its key's jobs that may run at once, cluster-wide.
-- `holds_slot`: the claim took a slot for it in running_slots (below).
ALTER TABLE jobs ADD COLUMN queue text NOT NULL DEFAULT 'default',
                 ADD COLUMN concurrency_key text,
                 ADD COLUMN concurrency_limit int4 CHECK (concurrency_limit > 0),
                 ADD COLUMN holds_slot boolean NOT NULL DEFAULT false;

-- The claim reads one queue's due jobs without a key in claim order (see claim_jobs.sql).
DROP INDEX jobs_claim_order;
CREATE INDEX jobs_claim_order ON jobs (queue, priority, run_at, created_at, id)
    WHERE status = 'pending' AND concurrency_key IS NULL;
-- ... and walks the keys of its due keyed jobs one after the other (a skip scan), taking each
-- key's first jobs in claim order: a key with a huge backlog is one step of that walk, never
-- a wall the claim has to read through.
CREATE INDEX jobs_claim_keyed ON jobs (queue, concurrency_key, priority, run_at, created_at, id)
    WHERE status = 'pending' AND concurrency_key IS NOT NULL;

-- A queue's settings, shared by every worker; no row: not paused, no limits.
CREATE TABLE queues (
    name              text PRIMARY KEY,
    paused            boolean NOT NULL DEFAULT false,
    concurrency_limit int4 CHECK (concurrency_limit > 0),
    rate_limit        int4 CHECK (rate_limit > 0),
    rate_period_ms    int8 CHECK (rate_period_ms > 0),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK ((rate_limit IS NULL) = (rate_period_ms IS NULL))
);

-- The slots of running jobs that count against a limit: a job of a queue with a concurrency
-- limit holds one of that queue's numbered slots (0 .. limit-1), a job with a concurrency key
-- one of its key's. The unique indexes make the limits exact whatever the claims' snapshots:
-- two claims that pick the same free slot cannot both write it (the claim inserts with
-- ON CONFLICT DO NOTHING, so the loser skips that job instead of failing). A slot is freed in
-- the same transaction that moves its job out of `running` (the trigger below), however that
-- happens: an outcome, a release, a recovery after a crash, a cancel.
CREATE TABLE running_slots (
    job_id          text PRIMARY KEY,
    queue           text NOT NULL,
    queue_slot      int4,
    concurrency_key text,
    key_slot        int4
);
CREATE UNIQUE INDEX running_slots_queue ON running_slots (queue, queue_slot)
    WHERE queue_slot IS NOT NULL;
CREATE UNIQUE INDEX running_slots_key ON running_slots (concurrency_key, key_slot)
    WHERE key_slot IS NOT NULL;

-- A queue's rate limit of N starts per period: N slots, each free again one period after the
-- start that took it (by the database clock). A start takes a free slot, so any window of one
-- period holds at most N starts. Written whole when the limit is set (set_queue_rate.sql).
CREATE TABLE rate_slots (
    queue   text NOT NULL,
    slot    int4 NOT NULL,
    free_at timestamptz NOT NULL DEFAULT '-infinity',
    PRIMARY KEY (queue, slot)
);

-- Frees a job's slots when it leaves `running` or is deleted while running, and wakes the
-- workers (a claim that a limit held back can now take a job). The channel is the one every
-- worker of this schema listens on (SchemaName::channel).
CREATE FUNCTION free_running_slots() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path FROM CURRENT
    AS $$
BEGIN
    DELETE FROM running_slots WHERE job_id = OLD.id;
    PERFORM pg_notify('pgsched_jobs_' || TG_TABLE_SCHEMA, '');
    RETURN NULL;
END
$$;
CREATE TRIGGER jobs_free_running_slots
    AFTER UPDATE OF status ON jobs
    FOR EACH ROW
    WHEN (OLD.holds_slot AND OLD.status = 'running' AND NEW.status <> 'running')
    EXECUTE FUNCTION free_running_slots();
CREATE TRIGGER jobs_free_running_slots_on_delete
    AFTER DELETE ON jobs
    FOR EACH ROW
    WHEN (OLD.holds_slot AND OLD.status = 'running')
    EXECUTE FUNCTION free_running_slots();
