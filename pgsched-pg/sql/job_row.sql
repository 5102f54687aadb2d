-- The columns of the jobs row that an enqueue computes from its input row `d` (a fragment,
-- not a statement): one a line, `column = expression`. Every other input column (job_row.rs)
-- is written as it is to the column of its name. statements.rs renders the row into the
-- statements as __JOB_COLUMNS__, __JOB_VALUES__ and __EXCLUDED_JOB_COLUMNS__.
-- run_at NULL means now by the database clock; a NULL grace never expires (expires_at NULL);
-- the status is `blocked` while the job waits for parents (migration 0012), else `pending`
-- or `scheduled` by when the job is due.
run_at     = coalesce(d.run_at, now())
expires_at = coalesce(d.run_at, now()) + d.misfire_grace_ms * interval '1 millisecond'
status     = CASE WHEN d.unfinished_parents > 0 THEN 'blocked' ELSE __SCHEMA__.waiting_status(coalesce(d.run_at, now()), d.misfire_grace_ms) END
