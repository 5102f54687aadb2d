-- pgsched schema, version 19: a job whose slot was passed on frees nothing when it ends.
--
-- A claim can now pass an ended job's slot of its queue's limit to a job it takes (see
-- "Passing a slot on" in claim_jobs.sql): the slot's row in running_slots then names the new
-- holder, and the ended job, still `running` until its outcome is written, keeps holds_slot
-- (clearing it would be one more update of a wide, many-indexed row per job). So when such a
-- job leaves `running`, this trigger finds no slot of its to delete: it must not wake the
-- workers of the queue then, as no slot was freed. The DELETE still runs for every job that
-- took a slot: that is how a slot not passed on is freed, whatever ends its job (an outcome,
-- a release, a recovery after a crash, a cancel, a delete).
CREATE OR REPLACE FUNCTION free_running_slots() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path FROM CURRENT
    AS $$
BEGIN
    DELETE FROM running_slots WHERE job_id = OLD.id;
    IF FOUND THEN
        PERFORM pg_notify('pgsched_jobs_' || TG_TABLE_SCHEMA, 'slot:' || OLD.queue);
    END IF;
    RETURN NULL;
END
$$;
