-- pgsched schema, version 18: dependents are settled once per statement, set-based, instead
-- of once per parent by a row trigger.
--
-- The row trigger of migration 12 ran a PL/pgSQL function for every parent that ended, and
-- that function called another per edge, each updating the child row: in a fan-in (one job
-- after 10,000) an outcome statement that completed 500 parents made 1,000 function calls and
-- 500 updates of one row, which made a workflow drain at 0.35-0.45 of the speed of
-- independent jobs.
--
-- Now one statement trigger, with the statement's new rows (a transition table), does
-- it for all the parents that ended in the statement together: one UPDATE marks all their
-- unsettled edges settled, and one UPDATE counts every child down once, with every parent of
-- it that ended there (settle_dependents, still the one place the rule is written). A
-- statement that ended no parent (a claim, a renewal, nearly every outcome) reads its
-- transition table once and finds nothing to do.
--
-- Its statements run with a fresh snapshot (PL/pgSQL takes one per statement), so a dependent
-- scheduled by a transaction that committed while this statement waited for the parent's row
-- lock is seen, as before. Exactly once: an edge is settled by the UPDATE that sets its
-- `parent_status` (never again: `parent_status IS NULL` is its guard), and two statements that
-- count the same child down serialise on its row lock, the second re-reading the first's
-- count (READ COMMITTED); a statement that counts several children down locks them in id
-- order first. The children it cancels end in that one UPDATE, whose statement trigger
-- settles their own dependents in turn.

DROP TRIGGER jobs_release_dependents ON jobs;
DROP FUNCTION release_dependents();
DROP FUNCTION settle_dependent(text, text, text);

-- Settles the edges (parent_ids[i] -> child_ids[i]) whose parents ended in
-- parent_statuses[i]: the one place the dependency rule is written, for all the children at
-- once (one UPDATE, so one run of the statement trigger below for all the children it ends).
-- Per child: a completed parent counts down; a parent that ended otherwise cancels the child,
-- or counts down too when the child runs anyway (`on_parent_failure = 'run'`), each said in
-- its last_error. A child that is no longer blocked (cancelled by another parent, by a caller)
-- is left as it is. Returns how many children became runnable.
--
-- Released: due at its own due time or now, whichever is later, and its misfire grace runs
-- from then (a dependent waiting for slow parents is not a misfire).
CREATE FUNCTION settle_dependents(child_ids text[], parent_ids text[], parent_statuses text[])
    RETURNS bigint LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    released bigint;
BEGIN
    IF child_ids IS NULL THEN
        RETURN 0;
    END IF;
    -- Several children are locked in id order first: two statements that settle shared
    -- children wait for each other in the same order, never in a cycle. (One child, the
    -- fan-in of a workflow, needs no order: the UPDATE below locks it.)
    IF EXISTS (SELECT 1 FROM unnest(child_ids) AS c(id) WHERE c.id <> child_ids[1]) THEN
        PERFORM 1 FROM jobs WHERE id = ANY (child_ids) AND status = 'blocked' ORDER BY id
            FOR UPDATE;
    END IF;
    WITH per_child AS (
        SELECT e.child_id,
               count(*)::integer AS settled,
               bool_or(e.status <> 'completed') AS failed,
               array_agg(e.parent_id ORDER BY e.parent_id) FILTER (WHERE e.status <> 'completed')
                   AS failed_ids,
               array_agg(e.status ORDER BY e.parent_id) FILTER (WHERE e.status <> 'completed')
                   AS failed_statuses
          FROM unnest(child_ids, parent_ids, parent_statuses) AS e(child_id, parent_id, status)
         GROUP BY e.child_id
    ), settled AS (
        UPDATE jobs AS c
           SET unfinished_parents = c.unfinished_parents - p.settled,
               status = CASE
                   WHEN p.failed AND c.on_parent_failure = 'cancel' THEN 'cancelled'
                   WHEN c.unfinished_parents > p.settled THEN 'blocked'
                   ELSE waiting_status(greatest(c.run_at, now()), c.misfire_grace_ms) END,
               run_at = CASE WHEN c.unfinished_parents = p.settled THEN greatest(c.run_at, now())
                             ELSE c.run_at END,
               expires_at = CASE WHEN c.unfinished_parents = p.settled
                                 THEN greatest(c.run_at, now()) + c.misfire_grace_ms * interval '1 millisecond'
                                 ELSE c.expires_at END,
               finished_at = CASE WHEN p.failed AND c.on_parent_failure = 'cancel' THEN now() END,
               last_error = CASE
                   WHEN NOT p.failed THEN c.last_error
                   ELSE concat_ws(E'\n', c.last_error,
                                  (SELECT string_agg('parent_' || f.status || ': parent ' || f.id
                                                     || ' ended ' || f.status
                                                     || CASE WHEN c.on_parent_failure = 'cancel'
                                                             THEN '; cancelled (on_parent_failure = cancel)'
                                                             ELSE '; runs anyway (on_parent_failure = run)' END,
                                                     E'\n' ORDER BY f.id)
                                     FROM unnest(p.failed_ids, p.failed_statuses) AS f(id, status)))
                   END
          FROM per_child AS p
         WHERE c.id = p.child_id
           AND c.status = 'blocked'
        RETURNING c.status IN ('pending', 'scheduled') AS runnable
    )
    SELECT count(*) FILTER (WHERE runnable) INTO released FROM settled;
    RETURN released;
END
$$;

-- After an UPDATE of jobs: settles the edges of every job that reached a terminal status in
-- it and has dependents, and counts their children down (settle_dependents). Wakes listening
-- workers once when a child became runnable.
CREATE FUNCTION settle_ended_parents() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
DECLARE
    child_ids text[];
    parent_ids text[];
    parent_statuses text[];
BEGIN
    -- A parent that was already terminal before this statement settled its edges then (and
    -- an edge linked to it since was settled as it was written): `parent_status IS NULL`
    -- leaves nothing of it to settle, so the statement's old rows are not needed.
    WITH ended AS (
        SELECT n.id, n.status
          FROM new_rows AS n
         WHERE n.has_dependents
           AND n.status IN ('completed', 'failed', 'cancelled', 'expired')
    ), marked AS (
        UPDATE job_dependencies AS e
           SET parent_status = ended.status
          FROM ended
         WHERE e.parent_id = ended.id
           AND e.parent_status IS NULL
        RETURNING e.child_id, e.parent_id, e.parent_status
    )
    SELECT array_agg(child_id), array_agg(parent_id), array_agg(parent_status)
      INTO child_ids, parent_ids, parent_statuses
      FROM marked;
    IF settle_dependents(child_ids, parent_ids, parent_statuses) > 0 THEN
        PERFORM pg_notify('pgsched_jobs_' || TG_TABLE_SCHEMA, '');
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER jobs_settle_ended_parents
    AFTER UPDATE ON jobs
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION settle_ended_parents();
