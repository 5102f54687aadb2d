-- pgsched schema, version 8: the promotion reads scheduled jobs that can expire by due time,
-- so that jobs due later are never walked over.
--
-- Version 6 read them by expiry from now() upwards, stopping after enough due ones: with no
-- due job left, that walked every job due later (and fetched each from the heap to check its
-- due time): 200,000 Critical jobs due tomorrow cost every promotion pass 200 ms, a million
-- a second. Now the index is ordered by due time and carries the expiry: a pass reads from
-- its floor up to now(), and the jobs already past their grace (before now(), until the
-- misfire sweep expires them) are rejected inside the index, without a heap fetch. It also
-- serves when the next one comes due (its leading column) and the pass's floor, (run_at, id).
DROP INDEX jobs_scheduled_expiring_due;
CREATE INDEX jobs_scheduled_expiring_due ON jobs (run_at, id, expires_at)
    WHERE status = 'scheduled' AND expires_at IS NOT NULL;
