-- lock parents: before jobs that run after them are linked to them ($1: their ids, each
-- once), lock them in id order and mark them `has_dependents`, so the trigger of migration
-- 0012 settles their edges when they end. All or nothing: when some id is missing, nothing
-- is marked. The ids found come back (fewer than asked: the caller refuses the call).
--
-- The lock (FOR NO KEY UPDATE, in id order: two calls sharing parents cannot deadlock) is
-- what makes the status read here final for this transaction: a worker finishing a parent
-- waits for it (and its trigger then sees the edges this transaction adds), or this waits
-- for the worker's commit and reads the parent's new status (READ COMMITTED re-reads a row
-- it waited for). A parent already terminal is settled by link_dependencies.sql; a claim
-- skips a locked pending parent until this commits (SKIP LOCKED).
WITH locked AS (
    SELECT id, status, has_dependents
      FROM __SCHEMA__.jobs
     WHERE id = ANY($1::text[])
     ORDER BY id
       FOR NO KEY UPDATE
), marked AS (
    UPDATE __SCHEMA__.jobs AS j
       SET has_dependents = true
      FROM locked
     WHERE j.id = locked.id
       AND NOT locked.has_dependents
       AND (SELECT count(*) FROM locked) = cardinality($1::text[])
)
SELECT id FROM locked
