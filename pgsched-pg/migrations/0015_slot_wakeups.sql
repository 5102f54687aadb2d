-- pgsched schema, version 15: a freed slot wakes only the claim loops of its queue.
--
-- The trigger of migration 10 notified the workers' channel with an empty payload, which reads
-- as "jobs were written": every worker then promoted scheduled jobs and claimed in every queue
-- it serves, once per finished batch of a limited queue (a worker draining a queue with a
-- global limit spent as long promoting nothing as claiming). Its notification now says which
-- queue's slot was freed ('slot:' and the queue name, read by PgWakeups in listener.rs), so
-- that only the claim loops of that queue look again. PostgreSQL still folds the identical
-- notifications of one transaction into one: a batch of outcomes sends one per queue.
CREATE OR REPLACE FUNCTION free_running_slots() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path FROM CURRENT
    AS $$
BEGIN
    DELETE FROM running_slots WHERE job_id = OLD.id;
    PERFORM pg_notify('pgsched_jobs_' || TG_TABLE_SCHEMA, 'slot:' || OLD.queue);
    RETURN NULL;
END
$$;
