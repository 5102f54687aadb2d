-- pgsched schema, version 12: jobs that run after other jobs (workflows).
--
-- A dependent job is written `blocked`: a status no claim, promotion or misfire sweep ever
-- reads, so claim_jobs.sql and its partial index are untouched and blocked jobs cost them
-- nothing. It counts its parents that have not ended yet (`unfinished_parents`); the edge
-- table records each (parent, child) pair and how the parent ended. When a parent reaches a
-- terminal status, the trigger below settles each of its edges once (settle_dependent): a
-- completed parent counts down; a parent that ended otherwise cancels the child, or counts
-- down too when the child runs anyway (`on_parent_failure = 'run'`), saying so in its
-- last_error. The child that reaches zero becomes pending (or scheduled, if due later).
--
-- Exactly once under concurrency: every count-down is an UPDATE of the child row, so two
-- parents completing at the same instant serialise on the child's row lock, and the second
-- one's update re-reads the first one's committed count (READ COMMITTED re-checks the row it
-- waited for). Each edge is settled at most once (its `parent_status` is set in the same
-- trigger, under the parent's row lock), so a parent that ends twice (retried by an
-- operator, rewritten by Replace) never counts twice.

ALTER TABLE jobs DROP CONSTRAINT jobs_status_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_status_check
    CHECK (status IN ('blocked', 'scheduled', 'pending', 'running',
                      'completed', 'failed', 'cancelled', 'expired'));

-- Nullable without defaults (NULL: the job has no parents), so adding them rewrites nothing
-- and costs jobs without parents nothing. `has_dependents` guards the trigger: only jobs
-- that some job depends on pay for it; NOT NULL DEFAULT false is a catalog-only change.
ALTER TABLE jobs
    ADD COLUMN unfinished_parents integer CHECK (unfinished_parents >= 0),
    ADD COLUMN on_parent_failure  text    CHECK (on_parent_failure IN ('cancel', 'run')),
    ADD COLUMN has_dependents     boolean NOT NULL DEFAULT false;

-- One row per dependency. `parent_status`: the terminal status the parent ended in, once
-- this edge is settled (NULL until then). Deleting either job (retention) deletes the edge:
-- a finished parent has settled its edges already.
CREATE TABLE job_dependencies (
    parent_id     text NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    child_id      text NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    parent_status text,
    PRIMARY KEY (parent_id, child_id)
);
-- A job's parents (inspection, the child side of the cascade).
CREATE INDEX job_dependencies_child ON job_dependencies (child_id);

-- Settles the edge (parent_id -> child_id) for a parent that ended in `parent_status`; the
-- one place the dependency rule is written. Called by the trigger below for every edge of a
-- parent that reaches a terminal status, and by link_dependencies.sql for a parent that had
-- already ended when the child was scheduled. A child that is no longer blocked (cancelled
-- by another parent, cancelled by a caller) is left as it is. Returns whether the child
-- became runnable.
--
-- Released: due at its own due time or now, whichever is later, and its misfire grace runs
-- from then (a dependent waiting for slow parents is not a misfire).
CREATE FUNCTION settle_dependent(parent_id text, child_id text, parent_status text)
    RETURNS boolean LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    released boolean;
BEGIN
    UPDATE jobs AS c
       SET unfinished_parents = c.unfinished_parents - 1,
           status = CASE
               WHEN parent_status <> 'completed' AND c.on_parent_failure = 'cancel' THEN 'cancelled'
               WHEN c.unfinished_parents > 1 THEN 'blocked'
               ELSE waiting_status(greatest(c.run_at, now()), c.misfire_grace_ms) END,
           run_at = CASE WHEN c.unfinished_parents = 1 THEN greatest(c.run_at, now())
                         ELSE c.run_at END,
           expires_at = CASE WHEN c.unfinished_parents = 1
                             THEN greatest(c.run_at, now()) + c.misfire_grace_ms * interval '1 millisecond'
                             ELSE c.expires_at END,
           finished_at = CASE WHEN parent_status <> 'completed' AND c.on_parent_failure = 'cancel'
                              THEN now() END,
           last_error = CASE
               WHEN parent_status = 'completed' THEN c.last_error
               ELSE concat_ws(E'\n', c.last_error,
                              'parent_' || parent_status || ': parent ' || parent_id || ' ended '
                              || parent_status || CASE WHEN c.on_parent_failure = 'cancel'
                                                       THEN '; cancelled (on_parent_failure = cancel)'
                                                       ELSE '; runs anyway (on_parent_failure = run)' END)
               END
     WHERE c.id = child_id
       AND c.status = 'blocked'
    RETURNING c.status IN ('pending', 'scheduled') INTO released;
    RETURN coalesce(released, false);
END
$$;

-- A parent reached a terminal status: settle each of its edges not settled yet, children in
-- id order (two parents finishing together lock shared children in the same order). The
-- edges are read with a fresh snapshot (a volatile function's statement), so a dependent
-- scheduled by a transaction that committed while this one waited for the parent's row lock
-- is seen. Wakes listening workers once when a child became pending.
CREATE FUNCTION release_dependents() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
DECLARE
    children text[];
    child text;
    woken boolean := false;
BEGIN
    WITH settled AS (
        UPDATE job_dependencies
           SET parent_status = NEW.status
         WHERE parent_id = NEW.id
           AND parent_status IS NULL
        RETURNING child_id
    )
    SELECT array_agg(child_id ORDER BY child_id) INTO children FROM settled;
    FOREACH child IN ARRAY coalesce(children, '{}') LOOP
        IF settle_dependent(NEW.id, child, NEW.status) THEN
            woken := true;
        END IF;
    END LOOP;
    IF woken THEN
        PERFORM pg_notify('pgsched_jobs_' || TG_TABLE_SCHEMA, '');
    END IF;
    RETURN NULL;
END
$$;

-- The guard is evaluated when the row is updated and queues nothing for a job no one
-- depends on: the ordinary claim -> finish path pays one boolean test per row.
CREATE TRIGGER jobs_release_dependents
    AFTER UPDATE OF status ON jobs
    FOR EACH ROW
    WHEN (NEW.has_dependents
          AND NEW.status IN ('completed', 'failed', 'cancelled', 'expired')
          AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION release_dependents();
